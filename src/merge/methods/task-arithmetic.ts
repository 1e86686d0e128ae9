/**
 * Task arithmetic (mergekit `task_arithmetic`): out = base + λ·Σ w_i (θ_i − base), divided
 * by Σ w_i with normalize (off by default, as mergekit). One model is enough: λ or its
 * weight scales (or, negative, subtracts) its task vector.
 */
import { taskArithmeticMerge } from '../../kernels/task-vector/task-arithmetic.cpu';
import { encodeTaskArithmetic } from '../../kernels/task-vector';
import { defineMethod, paramValue } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { INT8_MASK, LAMBDA, NOTHING_TO_FREE, baseOf, normalizeOf, normalizeOption } from './common';

const NORMALIZE = normalizeOption(false);
const scalars = (p: MergeParams) => ({ lambda: paramValue(p, LAMBDA), weights: p.weights, normalize: normalizeOf(p, NORMALIZE) });

export const taskArithmetic = defineMethod({
  id: 'task_arithmetic',
  label: 'task arithmetic',
  aliases: [],
  params: [LAMBDA],
  options: [NORMALIZE, INT8_MASK],
  needs: { base: true, minModels: 1 },
  weighted: true,
  cpu: (job) => taskArithmeticMerge(job.models, baseOf(job, 'task arithmetic'), job.out, scalars(job.params)),
  gpu: ({ device }) => ({
    kind: 'encoder',
    encode: (encoder, j) => encodeTaskArithmetic(device, encoder, j.models, j.base!, j.out, j.size, scalars(j.params)),
    destroy: NOTHING_TO_FREE,
  }),
});
