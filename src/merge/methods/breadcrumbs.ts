/**
 * Model breadcrumbs (mergekit `breadcrumbs`): each task vector keeps the `density` fraction
 * of its entries between the smallest magnitudes and the `gamma` fraction of largest
 * outliers, then base + λ·Σ w_i τ'_i. Kernel: src/kernels/task-vector/breadcrumbs*.ts.
 */
import type { DareConsensus } from '../../kernels/task-vector/dare.cpu';
import { breadcrumbsMerge, type BreadcrumbsParams } from '../../kernels/task-vector/breadcrumbs.cpu';
import { BREADCRUMBS_CUTS_PER_MODEL, encodeBreadcrumbs } from '../../kernels/task-vector/breadcrumbs';
import { createMergeScratch } from '../../kernels/task-vector';
import { defineMethod, paramValue, type MergeMethodDef, type ParamSpec } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { CONSENSUS, DENSITY, INT8_MASK, LAMBDA, baseOf, densitiesOf, normalizeOf, normalizeOption } from './common';
import { optionValue } from '../method';

const NORMALIZE = normalizeOption(false);

const BAND_DENSITY: ParamSpec = { ...DENSITY, default: 1, help: 'Fraction of each task vector kept, between the smallest entries and the outliers' };

const GAMMA: ParamSpec = {
  key: 'gamma',
  label: 'γ (outliers)',
  short: 'γ',
  help: 'Fraction of each task vector’s largest-magnitude entries dropped',
  type: 'number',
  min: 0,
  max: 1,
  step: 0.005,
  default: 0.01,
};

const vote = (p: MergeParams) => optionValue(p, CONSENSUS) as 'sum' | 'count';
const scalars = (p: MergeParams, consensus: DareConsensus, modelCount: number): BreadcrumbsParams => ({
  density: densitiesOf(p, modelCount, paramValue(p, BAND_DENSITY)),
  normalize: normalizeOf(p, NORMALIZE),
  vote: vote(p),
  gamma: paramValue(p, GAMMA),
  lambda: paramValue(p, LAMBDA),
  weights: p.weights,
  consensus,
});

/** A breadcrumbs entry with the given consensus (breadcrumbs-ties.ts is the other). */
export function breadcrumbsMethod(id: string, label: string, consensus: DareConsensus): MergeMethodDef {
  return defineMethod({
    id,
    label,
    aliases: [],
    params: [BAND_DENSITY, GAMMA, LAMBDA],
    options: consensus === 'ties' ? [NORMALIZE, CONSENSUS, INT8_MASK] : [NORMALIZE, INT8_MASK],
    needs: { base: true },
    weighted: true,
    perModelDensity: true,
    cpu: (job) => breadcrumbsMerge(job.models, baseOf(job, label), job.out, scalars(job.params, consensus, job.models.length)),
    gpu: ({ device, largest, modelCount }) => {
      const scratch = createMergeScratch(device, largest, modelCount, BREADCRUMBS_CUTS_PER_MODEL);
      return {
        kind: 'encoder',
        encode: (encoder, j) => encodeBreadcrumbs(device, encoder, j.models, j.base!, j.out, j.size, scalars(j.params, consensus, j.models.length), scratch),
        destroy: () => scratch.destroy(),
      };
    },
  });
}

export const breadcrumbs = breadcrumbsMethod('breadcrumbs', 'breadcrumbs', 'none');
