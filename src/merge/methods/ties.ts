/** TIES (mergekit `ties`): per-model magnitude trim, sign election, disjoint merge. */
import { tiesMerge } from '../../kernels/task-vector/ties.cpu';
import { createMergeScratch, encodeTies } from '../../kernels/task-vector';
import { defineMethod, paramValue } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { DENSITY, LAMBDA, baseOf } from './common';

const scalars = (p: MergeParams) => ({ density: paramValue(p, DENSITY), lambda: paramValue(p, LAMBDA), weights: p.weights });

export const ties = defineMethod({
  id: 'ties',
  label: 'TIES',
  aliases: [],
  params: [DENSITY, LAMBDA],
  needs: { base: true },
  weighted: true,
  cpu: (job) => tiesMerge(job.models, baseOf(job, 'TIES'), job.out, scalars(job.params)),
  gpu: ({ device, largest, modelCount }) => {
    const scratch = createMergeScratch(device, largest, modelCount);
    return {
      kind: 'encoder',
      encode: (encoder, j) => encodeTies(device, encoder, j.models, j.base!, j.out, j.size, scalars(j.params), scratch),
      destroy: () => scratch.destroy(),
    };
  },
});
