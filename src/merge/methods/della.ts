/**
 * DELLA (mergekit `della`): each task vector keeps its entries with probabilities that grow
 * with their magnitude rank (density ± epsilon, ranked along axis 1 of the tensor), the
 * survivors rescaled to keep its L1 norm, then TIES' sign election and disjoint merge;
 * della-linear.ts sums instead. Drops use the project's counter-based RNG (seed), so a seed
 * reproduces a merge. On the GPU a bitonic sort ranks each row and nothing is read back.
 * Kernel: src/kernels/task-vector/della*.ts.
 */
import { dellaMerge, type DellaParams } from '../../kernels/task-vector/della.cpu';
import { createDellaScratch, dellaFitsGpu, dellaSortKeys, encodeDella } from '../../kernels/task-vector/della';
import { defineMethod, optionValue, paramValue, type MergeMethodDef, type OptionSpec, type ParamSpec, type TensorJob } from '../method';
import type { MergeParamKey, MergeParams } from '../../protocol/settings';
import { DENSITY, INT8_MASK, LAMBDA, SEED, baseOf, densitiesOf, normalizeOf, normalizeOption } from './common';

export const EPSILON: ParamSpec = {
  key: 'epsilon' as MergeParamKey,
  label: 'ε (spread)',
  short: 'ε',
  help: 'Half-width of the keep probabilities: the smallest entry is kept with density − ε, the largest with density + ε',
  type: 'number',
  min: 0,
  max: 0.5,
  step: 0.01,
  default: 0.15,
};

const DELLA_SEED: ParamSpec = { ...SEED, label: 'Seed', help: 'Seed of the random drops' };

const DELLA_DENSITY: ParamSpec = { ...DENSITY, help: 'Mean keep probability of each task-vector entry (1 keeps all)' };

export const RESCALE_L1: Extract<OptionSpec, { type: 'boolean' }> = {
  key: 'rescale',
  label: 'Rescale',
  help: 'Scale each pruned task vector back to its L1 norm',
  type: 'boolean',
  default: true,
};

function scalars(job: Pick<TensorJob, 'params' | 'offset' | 'dims'>, modelCount: number, consensus: 'none' | 'ties', normalize: Extract<OptionSpec, { type: 'boolean' }>): DellaParams {
  const p: MergeParams = job.params;
  return {
    density: densitiesOf(p, modelCount, paramValue(p, DELLA_DENSITY)),
    epsilon: paramValue(p, EPSILON),
    seed: paramValue(p, DELLA_SEED),
    offset: job.offset,
    dims: job.dims,
    consensus,
    weights: p.weights,
    lambda: paramValue(p, LAMBDA),
    normalize: normalizeOf(p, normalize),
    rescale: optionValue(p, RESCALE_L1),
  };
}

/** A DELLA entry: consensus 'ties' (della, normalize on) or 'none' (della_linear, normalize off). */
export function dellaMethod(id: string, label: string, consensus: 'none' | 'ties'): MergeMethodDef {
  const normalize = normalizeOption(consensus === 'ties');
  return defineMethod({
    id,
    label,
    aliases: [],
    params: [DELLA_DENSITY, EPSILON, LAMBDA, DELLA_SEED],
    options: [normalize, RESCALE_L1, INT8_MASK],
    needs: { base: true },
    weighted: true,
    perModelDensity: true,
    cpu: (job) => dellaMerge(job.models, baseOf(job, label), job.out, scalars(job, job.models.length, consensus, normalize)),
    // Whole-buffer passes (the sort): tensors above a default binding stay on the CPU.
    gpuInputs: (_inputs, layout) => (layout.slots.every((s) => dellaFitsGpu(s.dims, s.size)) ? {} : null),
    gpu: ({ device, largest, modelCount, layout }) => {
      const keys = Math.max(1, ...layout.slots.map((s) => dellaSortKeys(s.dims, s.size)));
      const scratch = createDellaScratch(device, largest, modelCount, keys);
      const dims = new Map(layout.slots.map((s) => [s.name, s.dims]));
      return {
        kind: 'encoder',
        encode: (encoder, j) =>
          encodeDella(device, encoder, j.models, j.base!, j.out, j.size, scalars({ params: j.params, offset: j.offset, dims: dims.get(j.name) }, j.models.length, consensus, normalize), scratch),
        destroy: () => scratch.destroy(),
      };
    },
  });
}

export const della = dellaMethod('della', 'DELLA', 'ties');
