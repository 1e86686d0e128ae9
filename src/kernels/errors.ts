/**
 * Errors shared by the kernels in src/kernels (CPU twins and GPU encoders alike).
 */

export class KernelParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelParamsError';
  }
}
