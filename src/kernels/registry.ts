/**
 * Every elementwise kernel with its two twins, by name. The engine picks `cpu` on the
 * WASM/CPU path and `gpu` (an encoder recorder) when it holds a GPUDevice.
 */
import { deStepKernel } from './de-step';
import { scaleAddKernel } from './scale-add';

export const kernels = {
  'de-step': deStepKernel,
  'scale-add': scaleAddKernel,
} as const;

export type KernelName = keyof typeof kernels;
