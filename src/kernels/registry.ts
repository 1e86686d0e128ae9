/**
 * Every elementwise kernel with its two twins, by name. The engine picks `cpu` on the
 * WASM/CPU path and `gpu` (an encoder recorder) when it holds a GPUDevice.
 */
import { deStepKernel } from './de-step';
import { dotNormsKernel } from './dot-norms';
import { scaleAddKernel } from './scale-add';

export const kernels = {
  'de-step': deStepKernel,
  'dot-norms': dotNormsKernel,
  'scale-add': scaleAddKernel,
} as const;

export type KernelName = keyof typeof kernels;
