/**
 * Linear merge (mergekit `linear`, the studio's "average"): out = Σ w_i θ_i / Σ w_i
 * (normalize, the default) or Σ w_i θ_i. A given base is one more model of the average
 * (weight 1 unless --weights gives it one), as mergekit gathers base_model with the others.
 */
import { linearMerge } from '../../kernels/task-vector/linear.cpu';
import { encodeLinear } from '../../kernels/task-vector';
import { defineMethod } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { NOTHING_TO_FREE, normalizeOf, normalizeOption } from './common';

const NORMALIZE = normalizeOption(true);
const scalars = (p: MergeParams) => ({ weights: p.weights, normalize: normalizeOf(p, NORMALIZE) });

export const linear = defineMethod({
  id: 'linear',
  label: 'simple average',
  aliases: ['average', 'avg'],
  params: [],
  options: [NORMALIZE],
  needs: {},
  weighted: true,
  baseAsModel: 'last',
  cpu: ({ models, out, params }) => linearMerge(models, out, scalars(params)),
  gpu: ({ device }) => ({
    kind: 'encoder',
    encode: (encoder, j) => encodeLinear(device, encoder, j.models, j.out, j.size, scalars(j.params)),
    destroy: NOTHING_TO_FREE,
  }),
});
