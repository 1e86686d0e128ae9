/**
 * SCE (mergekit `sce`): select the task-vector entries with the largest variance across the
 * models (select_topk), calculate each model's weight from its mean squared task vector,
 * erase the entries against the sign of their sum, and average the rest by those weights.
 * No per-model weights (mergekit's sce takes none). On the GPU, a select reads back 16 bytes
 * per tensor (its non-zero variance count); without one nothing is. Kernel: src/kernels/sce.
 */
import { sceMerge } from '../../kernels/sce/sce.cpu';
import { createSceScratch, sceGpu } from '../../kernels/sce';
import { WHOLE_BINDING_FLOATS } from '../../kernels/task-vector/della';
import { defineMethod, paramValue, type ParamSpec } from '../method';
import type { MergeParamKey } from '../../protocol/settings';
import { INT8_MASK, baseOf } from './common';

const SELECT_TOPK: ParamSpec = {
  key: 'select_topk' as MergeParamKey,
  label: 'Select top-k',
  short: 'select_topk',
  help: 'Fraction of the entries kept: those whose task vectors vary most across the models (1 keeps all)',
  type: 'number',
  min: 0,
  max: 1,
  step: 0.05,
  default: 1,
};

export const sce = defineMethod({
  id: 'sce',
  label: 'SCE',
  aliases: [],
  params: [SELECT_TOPK],
  options: [INT8_MASK],
  needs: { base: true },
  cpu: (job) => sceMerge(job.models, baseOf(job, 'SCE'), job.out, { selectTopk: paramValue(job.params, SELECT_TOPK) }),
  // Whole-buffer passes: tensors above a default binding stay on the CPU.
  gpuInputs: (_inputs, layout) => (layout.slots.every((s) => s.size <= WHOLE_BINDING_FLOATS) ? {} : null),
  gpu: ({ device, largest, modelCount }) => {
    const scratch = createSceScratch(device, largest, modelCount);
    return {
      kind: 'batched',
      mergeAll: (jobs) =>
        sceGpu(
          device,
          jobs.map((j) => ({ models: j.models, base: j.base!, out: j.out, elementCount: j.size, selectTopk: paramValue(j.params, SELECT_TOPK) })),
          scratch,
        ),
      destroy: () => scratch.destroy(),
    };
  },
});
