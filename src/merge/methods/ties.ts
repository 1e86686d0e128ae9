/**
 * TIES (mergekit `ties`): per-model magnitude trim (density, default 1 as mergekit; k is
 * rounded, mergekit floors it), sign election (consensus_method sum or count), disjoint
 * merge, divided by the agreeing weights (normalize, default true as mergekit).
 * Both votes run on the CPU and the GPU.
 */
import { tiesMerge } from '../../kernels/task-vector/ties.cpu';
import { createMergeScratch, encodeTies } from '../../kernels/task-vector';
import { defineMethod, optionValue, paramValue } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { CONSENSUS, DENSITY, INT8_MASK, LAMBDA, baseOf, densitiesOf, normalizeOf, normalizeOption } from './common';

const NORMALIZE = normalizeOption(true);
const vote = (p: MergeParams) => optionValue(p, CONSENSUS) as 'sum' | 'count';
const scalars = (p: MergeParams, modelCount: number) => ({
  density: densitiesOf(p, modelCount, paramValue(p, DENSITY)),
  lambda: paramValue(p, LAMBDA),
  weights: p.weights,
  normalize: normalizeOf(p, NORMALIZE),
  consensus: vote(p),
});

export const ties = defineMethod({
  id: 'ties',
  label: 'TIES',
  aliases: [],
  params: [DENSITY, LAMBDA],
  options: [NORMALIZE, CONSENSUS, INT8_MASK],
  needs: { base: true },
  weighted: true,
  perModelDensity: true,
  cpu: (job) => tiesMerge(job.models, baseOf(job, 'TIES'), job.out, scalars(job.params, job.models.length)),
  gpu: ({ device, largest, modelCount }) => {
    const scratch = createMergeScratch(device, largest, modelCount);
    return {
      kind: 'encoder',
      encode: (encoder, j) => encodeTies(device, encoder, j.models, j.base!, j.out, j.size, scalars(j.params, j.models.length), scratch),
      destroy: () => scratch.destroy(),
    };
  },
});
