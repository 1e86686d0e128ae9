/**
 * The DARE family's shared pieces (random drop with 1/p rescale, then a sum or TIES'
 * consensus): dare-linear.ts and dare-ties.ts are its two entries.
 */
import { dareMerge, type DareConsensus } from '../../kernels/task-vector/dare.cpu';
import { createMergeScratch, encodeDare } from '../../kernels/task-vector';
import { paramValue, type MergeMethodDef, type TensorJob } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { DENSITY, LAMBDA, NOTHING_TO_FREE, SEED, baseOf } from './common';

/** DARE's density is a keep probability: 0 is not one. */
export const KEEP_DENSITY = { ...DENSITY, min: 0.01, help: 'Probability that each task-vector entry is kept (survivors are scaled by 1/p)' };

const scalars = (p: MergeParams, offset: number, consensus: DareConsensus) => ({
  density: paramValue(p, KEEP_DENSITY),
  lambda: paramValue(p, LAMBDA),
  seed: paramValue(p, SEED),
  weights: p.weights,
  offset,
  consensus,
});

/** A DARE entry with the given consensus. */
export function dareMethod(id: string, label: string, consensus: DareConsensus): MergeMethodDef {
  return {
    id,
    label,
    aliases: [],
    params: [KEEP_DENSITY, LAMBDA, SEED],
    needs: { base: true },
    weighted: true,
    cpu: (job: TensorJob) => dareMerge(job.models, baseOf(job, label), job.out, scalars(job.params, job.offset, consensus)),
    gpu: ({ device, largest, modelCount }) => {
      const scratch = consensus === 'ties' ? createMergeScratch(device, largest, modelCount) : null;
      return {
        kind: 'encoder',
        encode: (encoder, j) => encodeDare(device, encoder, j.models, j.base!, j.out, j.size, scalars(j.params, j.offset, consensus), scratch),
        destroy: () => (scratch ? scratch.destroy() : NOTHING_TO_FREE()),
      };
    },
  };
}
