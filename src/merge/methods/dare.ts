/**
 * The DARE family's shared pieces (random drop, a rescale of the survivors, then a sum or
 * TIES' consensus): dare-linear.ts and dare-ties.ts are its two entries. As mergekit: the
 * rescale keeps each task vector's L1 norm (rescale_norm l1; 1/p is the paper's), density
 * defaults to 1, normalize to false. On the GPU the L1 / L2 rescale reads back one norm pair
 * per tensor and model first (dare-norms.ts); L∞ runs on the CPU.
 */
import { dareMerge, type DareConsensus, type DareRescaleNorm } from '../../kernels/task-vector/dare.cpu';
import { createMergeScratch, encodeDare } from '../../kernels/task-vector';
import { dareNormScalesGpu } from '../../kernels/task-vector/dare-norms';
import { optionValue, paramValue, type MergeMethodDef, type OptionSpec, type TensorJob } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { CONSENSUS, DENSITY, INT8_MASK, LAMBDA, NOTHING_TO_FREE, SEED, baseOf, densitiesOf, normalizeOf, normalizeOption } from './common';

/** DARE's density is a keep probability: 0 is not one. */
export const KEEP_DENSITY = { ...DENSITY, min: 0.01, help: 'Probability that each task-vector entry is kept (survivors are rescaled)' };

const NORMALIZE = normalizeOption(false);
export const RESCALE: Extract<OptionSpec, { type: 'boolean' }> = { key: 'rescale', label: 'Rescale', help: 'Rescale the surviving entries (see rescale_norm)', type: 'boolean', default: true };
export const RESCALE_NORM: Extract<OptionSpec, { type: 'choice' }> = {
  key: 'rescale_norm',
  label: 'Rescale to keep',
  help: 'l1 (mergekit): each task vector keeps its L1 norm; l2, linf likewise; density: survivors × 1/p (the paper)',
  type: 'choice',
  choices: ['l1', 'l2', 'linf', 'density'],
  default: 'l1',
};

/** The L1 / L2 rescale: a reduction per tensor and model first (the GPU merger is then batched). */
const normRescale = (p: MergeParams): 'l1' | 'l2' | null => {
  const norm = optionValue(p, RESCALE_NORM);
  return optionValue(p, RESCALE) && (norm === 'l1' || norm === 'l2') ? norm : null;
};
// L∞ has no GPU twin.
const onGpu = (p: MergeParams) => !(optionValue(p, RESCALE) && optionValue(p, RESCALE_NORM) === 'linf');

const scalars = (p: MergeParams, offset: number, consensus: DareConsensus, modelCount: number) => ({
  density: densitiesOf(p, modelCount, paramValue(p, KEEP_DENSITY)),
  lambda: paramValue(p, LAMBDA),
  seed: paramValue(p, SEED),
  weights: p.weights,
  offset,
  consensus,
  normalize: normalizeOf(p, NORMALIZE),
  rescale: optionValue(p, RESCALE),
  rescaleNorm: optionValue(p, RESCALE_NORM) as DareRescaleNorm,
  vote: optionValue(p, CONSENSUS) as 'sum' | 'count',
});

/** A DARE entry with the given consensus. */
export function dareMethod(id: string, label: string, consensus: DareConsensus): MergeMethodDef {
  return {
    id,
    label,
    aliases: [],
    params: [KEEP_DENSITY, LAMBDA, SEED],
    options: consensus === 'ties' ? [NORMALIZE, RESCALE, RESCALE_NORM, CONSENSUS, INT8_MASK] : [NORMALIZE, RESCALE, RESCALE_NORM, INT8_MASK],
    needs: { base: true },
    weighted: true,
    perModelDensity: true,
    cpu: (job: TensorJob) => dareMerge(job.models, baseOf(job, label), job.out, scalars(job.params, job.offset, consensus, job.models.length)),
    gpuInputs: (_inputs, _layout, params) => (onGpu(params) ? {} : null),
    gpu: ({ device, largest, modelCount, params }) => {
      const scratch = consensus === 'ties' ? createMergeScratch(device, largest, modelCount) : null;
      const destroy = () => (scratch ? scratch.destroy() : NOTHING_TO_FREE());
      const norm = normRescale(params);
      if (norm) {
        return {
          kind: 'batched',
          mergeAll: async (jobs) => {
            const all = jobs.map((j) => scalars(j.params, j.offset, consensus, j.models.length));
            const densities = all.map((s, t) => (typeof s.density === 'number' ? jobs[t]!.models.map(() => s.density as number) : s.density));
            const scales = await dareNormScalesGpu(device, jobs.map((j, t) => ({ models: j.models, base: j.base!, size: j.size, offset: j.offset, densities: densities[t]!, seed: all[t]!.seed })), norm);
            const encoder = device.createCommandEncoder({ label: `${id} merge` });
            jobs.forEach((j, t) => encodeDare(device, encoder, j.models, j.base!, j.out, j.size, { ...all[t]!, scales: scales[t] }, scratch));
            device.queue.submit([encoder.finish()]);
          },
          destroy,
        };
      }
      return {
        kind: 'encoder',
        encode: (encoder, j) => encodeDare(device, encoder, j.models, j.base!, j.out, j.size, scalars(j.params, j.offset, consensus, j.models.length), scratch),
        destroy,
      };
    },
  };
}
