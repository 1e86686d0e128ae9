/**
 * Every elementwise kernel with its two twins, by name. The engine picks `cpu` on the
 * WASM/CPU path and `gpu` (an encoder recorder) when it holds a GPUDevice.
 */
import { deStepKernel } from './de-step';
import { dotNormsKernel } from './dot-norms';
import { fisherMergeKernel } from './fisher-merge';
import { kinshipKernel } from './kinship';
import { linearOperatorKernel } from './linear-operator';
import { scaleAddKernel } from './scale-add';
import { dareKernel, linearKernel, magnitudeSelectKernel, taskArithmeticKernel, tiesKernel } from './task-vector';

export const kernels = {
  'de-step': deStepKernel,
  'dot-norms': dotNormsKernel,
  kinship: kinshipKernel,
  'scale-add': scaleAddKernel,
  'magnitude-select': magnitudeSelectKernel,
  linear: linearKernel,
  'task-arithmetic': taskArithmeticKernel,
  ties: tiesKernel,
  dare: dareKernel,
  'fisher-merge': fisherMergeKernel,
  'linear-operator': linearOperatorKernel,
} as const;

export type KernelName = keyof typeof kernels;
