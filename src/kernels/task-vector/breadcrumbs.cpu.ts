/**
 * Model breadcrumbs (mergekit `breadcrumbs` / `breadcrumbs_ties`, its magnitude-outliers
 * sparsification), per tensor: of each task vector τ_i = θ_i − base, drop the smallest
 * magnitudes and the `gamma` fraction of largest ones, keeping `density` of the entries:
 *   target = ⌊density·n⌋, top = ⌊gamma·n⌋, bottom = n − target − top
 *   (bottom < 0: fewer outliers are dropped, top += bottom, bottom = 0)
 * then either
 *   consensus 'none' (breadcrumbs):      out = base + λ·Σ w_i τ'_i   (÷ Σ w_i with normalize)
 *   consensus 'ties' (breadcrumbs_ties): TIES sign election + disjoint merge of w_i τ'_i
 * normalize defaults to false for both, as in mergekit; density ≥ 1 keeps τ_i whole (gamma
 * ignored), as mergekit does. Where mergekit drops no outliers (top = 0) it would keep an
 * empty slice; here top = 0 keeps everything above the bottom, as the definition says.
 *
 * The band is two exact top-k cuts in the order (|τ| descending, index ascending) of
 * magnitude-select.cpu.ts: the outer cut keeps the top + target largest, the outlier cut the
 * top largest; an entry survives when the first keeps it and the second does not.
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { KernelParamsError } from '../errors';
import { keptByCut, topKMagnitudeCut, type MagnitudeCut } from './magnitude-select.cpu';
import { checkLambda, isDensity, resolvePerModel, resolveWeights, sumScale } from './params';
import { checkTensors, combineLinear, type ContributionFn } from './linear.cpu';
import { consensusMerge, type TiesVote } from './ties.cpu';

export interface BreadcrumbsParams {
  /** Fraction of each task vector kept, in [0, 1] (scalar or per model), default 1 (no sparsification). */
  density?: number | readonly number[];
  /** Fraction of the largest magnitudes dropped, in [0, 1] (scalar or per model), default 0.01. */
  gamma?: number | readonly number[];
  /** 'none' = breadcrumbs (default), 'ties' = breadcrumbs_ties. */
  consensus?: 'none' | 'ties';
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Scale λ on the merged task vector, default 1. */
  lambda?: number;
  /** Divide by Σ w (none) or by the agreeing weights (ties); default false, as mergekit. */
  normalize?: boolean;
  /** The TIES vote under consensus 'ties' (default 'sum'). */
  vote?: TiesVote;
}

/** The two cut sizes of one band over n entries: keep ranks [outliers, outer) by descending magnitude. */
export function breadcrumbsCounts(density: number, gamma: number, n: number): { outer: number; outliers: number } {
  if (!isDensity(density) || !isDensity(gamma)) {
    throw new KernelParamsError(`breadcrumbs.cpu.ts: density and gamma must be in [0, 1], got ${density} and ${gamma}`);
  }
  if (density >= 1) return { outer: n, outliers: 0 };
  const target = Math.floor(density * n);
  let top = Math.floor(gamma * n);
  const bottom = n - target - top;
  if (bottom < 0) top += bottom;
  return { outer: target + top, outliers: top };
}

export interface BandCuts {
  outer: MagnitudeCut;
  outliers: MagnitudeCut;
}

/** Each model's band over base.length entries. */
export function breadcrumbsCuts(models: readonly Float32Array[], base: Float32Array, densities: readonly number[], gammas: readonly number[]): BandCuts[] {
  return models.map((m, i) => {
    const { outer, outliers } = breadcrumbsCounts(densities[i]!, gammas[i]!, base.length);
    return { outer: topKMagnitudeCut(m, outer, base), outliers: topKMagnitudeCut(m, outliers, base) };
  });
}

const tau = new Float32Array(1);
const tauBits = new Uint32Array(tau.buffer);

/** c_i = w_i·τ_i inside model i's band, else +0. */
export function bandContribution(models: readonly Float32Array[], base: Float32Array, w32: Float32Array, cuts: readonly BandCuts[]): ContributionFn {
  return (i, start, len, dst) => {
    const m = models[i]!;
    const w = w32[i]!;
    const { outer, outliers } = cuts[i]!;
    for (let jj = 0; jj < len; jj++) {
      const j = start + jj;
      tau[0] = m[j]! - base[j]!;
      const bits = tauBits[0]! & 0x7fff_ffff;
      dst[jj] = keptByCut(outer, bits, j) && !keptByCut(outliers, bits, j) ? w * tau[0]! : 0;
    }
  };
}

export function breadcrumbsMerge(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: BreadcrumbsParams = {}): void {
  const where = 'task-vector/breadcrumbs.cpu.ts';
  checkTensors(models, base, out, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const densities = resolvePerModel(params.density, 1, models.length, isDensity, 'density', where);
  const gammas = resolvePerModel(params.gamma, 0.01, models.length, isDensity, 'gamma', where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const normalize = params.normalize ?? false;
  const consensus = params.consensus ?? 'none';
  if (consensus !== 'none' && consensus !== 'ties') throw new KernelParamsError(`${where}: consensus must be 'none' or 'ties', got ${String(consensus)}`);
  const w32 = Float32Array.from(weights);
  const contribution = bandContribution(models, base, w32, breadcrumbsCuts(models, base, densities, gammas));
  if (consensus === 'ties') {
    consensusMerge(out.length, models.length, base, out, w32, lambda, normalize, contribution, params.vote ?? 'sum');
  } else {
    combineLinear(out.length, models.length, base, out, sumScale(weights, lambda, normalize), contribution);
  }
}
