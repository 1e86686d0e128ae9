/**
 * DELLA (Deep et al. 2024; mergekit `della` / `della_linear`, its della_magprune), per
 * tensor: of each task vector τ_i = θ_i − base, keep each entry with a probability that
 * grows with its magnitude rank, rescale, then either
 *   consensus 'ties' (della):        TIES sign election + disjoint merge of w_i τ̃_i
 *   consensus 'none' (della_linear): out = base + λ·Σ w_i τ̃_i   (÷ Σ w_i with normalize)
 * As mergekit:
 * - ranks run along axis 1 of the tensor (a 1-D tensor is one row; a matrix [rows, cols]
 *   ranks within each row): rank r = 1 … L by ascending |τ| (L = the axis' length), and
 *   p = (density − ε) + 2ε·(r − 1)/(L − 1), so p spans [density − ε, density + ε];
 * - density ≥ 1 keeps τ_i whole (no rescale), density ≤ 0 drops it; otherwise density ± ε
 *   must lie in (0, 1);
 * - rescale (default true) keeps τ_i's L1 norm: τ̃ = mask·τ·(‖τ‖₁ / ‖mask·τ‖₁), unscaled
 *   when either norm is below 1e-7 (mergekit's rescale_norm l1);
 * - normalize defaults to true for della, false for della_linear (the method files say so).
 * Differences, on purpose: equal magnitudes rank by index (torch's argsort leaves their
 * order unspecified); an axis of length 1 gets p = density (mergekit divides 0 by 0 and
 * fails); p is resolved to 2^-24 (the RNG's unit) and compared as integers.
 *
 * The draws are the project's counter-based RNG keyed by (seed, model index) at counter
 * offset + j, as DARE's, so the GPU twin draws the same mask bit for bit and a seed
 * reproduces a merge: keep when u·D < LO·D + SPAN·(r − 1), with u = randomU32 >>> 8,
 * D = L − 1, LO = round((density − ε)·2^24), SPAN = round(2ε·2^24), all exact integers.
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { KernelParamsError } from '../errors';
import { RNG_UNIT_BITS, randomU32Keyed, rngKey } from '../rng/rng.cpu';
import { checkDareCounters, checkLambda, resolvePerModel, resolveWeights, sumScale } from './params';
import { checkTensors, combineLinear, type ContributionFn } from './linear.cpu';
import { consensusMerge } from './ties.cpu';

export interface DellaParams {
  /** Mean keep probability, scalar or per model (mergekit's density; default 1 keeps everything). */
  density?: number | readonly number[];
  /** Half-width of the keep probabilities around density, scalar or per model (default 0.15). */
  epsilon?: number | readonly number[];
  seed: number;
  /** Global index of this tensor's element 0 (RNG counter base), default 0. */
  offset?: number;
  /** The tensor's shape; ranks run along axis 1 (absent or 1-D: the whole tensor). */
  dims?: readonly number[];
  /** 'ties' = della (default), 'none' = della_linear. */
  consensus?: 'none' | 'ties';
  weights?: readonly number[];
  lambda?: number;
  /** Divide by the agreeing weights (ties) or Σ w (none); default true (della's). */
  normalize?: boolean;
  /** Keep each task vector's L1 norm (default true). */
  rescale?: boolean;
}

/** mergekit leaves a masked tensor unscaled when its norm or the original's is below this. */
export const DELLA_RESCALE_EPS = 1e-7;
const UNIT = 1 << RNG_UNIT_BITS;

/** How axis 1 cuts n elements: groups of `length` entries `stride` apart. */
export interface RankAxis {
  groups: number;
  length: number;
  stride: number;
}

export function rankAxis(dims: readonly number[] | undefined, n: number): RankAxis {
  if (!dims || dims.length < 2) return { groups: 1, length: n, stride: 1 };
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== n) throw new KernelParamsError(`della.cpu.ts: dims [${dims.join(', ')}] do not hold ${n} elements`);
  const length = dims[1]!;
  const stride = dims.slice(2).reduce((a, b) => a * b, 1);
  return { groups: length === 0 ? 0 : n / length, length, stride };
}

/** Element index of entry k of group g (g = outer·stride + inner). */
export const groupElement = (axis: RankAxis, g: number, k: number): number => {
  const outer = Math.floor(g / axis.stride);
  const inner = g - outer * axis.stride;
  return (outer * axis.length + k) * axis.stride + inner;
};

/** The integers of one model's keep test (see the module comment). */
export interface DellaMask {
  key0: number;
  key1: number;
  lo: number;
  span: number;
  /** 'all': density ≥ 1; 'none': density ≤ 0; else drawn. */
  mode: 'all' | 'none' | 'draw';
}

export function dellaMasks(densities: readonly number[], epsilons: readonly number[], seed: number, where: string): DellaMask[] {
  return densities.map((d, i) => {
    const e = epsilons[i]!;
    const [key0, key1] = rngKey(seed, i);
    if (!Number.isFinite(d) || !Number.isFinite(e)) throw new KernelParamsError(`${where}: density and epsilon must be finite, got ${d}, ${e}`);
    if (d >= 1) return { key0, key1, lo: 0, span: 0, mode: 'all' as const };
    if (d <= 0) return { key0, key1, lo: 0, span: 0, mode: 'none' as const };
    if (!(e >= 0) || d + e >= 1 || d - e <= 0) throw new KernelParamsError(`${where}: epsilon must be chosen such that density ± epsilon is in (0, 1), got density ${d}, epsilon ${e}`);
    return { key0, key1, lo: Math.round((d - e) * UNIT), span: Math.round(2 * e * UNIT), mode: 'draw' as const };
  });
}

/** 0-based magnitude rank of every entry within its group: ascending |τ|, equal ones by index. */
export function dellaRanks(model: Float32Array, base: Float32Array, axis: RankAxis): Uint32Array {
  const n = base.length;
  const ranks = new Uint32Array(n);
  const tau = new Float32Array(1);
  const bits = new Uint32Array(tau.buffer);
  const { length: len } = axis;
  // key = bits·L + k sorts by (bits, k) exactly while it stays below 2^53.
  const exact = len <= 1 << 22;
  const keys = new Float64Array(len);
  const order = exact ? null : new Uint32Array(len);
  const mags = exact ? null : new Uint32Array(len);
  for (let g = 0; g < axis.groups; g++) {
    for (let k = 0; k < len; k++) {
      const j = groupElement(axis, g, k);
      tau[0] = model[j]! - base[j]!;
      const b = bits[0]! & 0x7fff_ffff;
      if (exact) keys[k] = b * len + k;
      else {
        mags![k] = b;
        order![k] = k;
      }
    }
    if (exact) {
      keys.sort();
      for (let p = 0; p < len; p++) ranks[groupElement(axis, g, keys[p]! % len)] = p;
    } else {
      order!.sort((a, b) => mags![a]! - mags![b]! || a - b);
      for (let p = 0; p < len; p++) ranks[groupElement(axis, g, order![p]!)] = p;
    }
  }
  return ranks;
}

/** Whether entry j (0-based rank r in a group of `len`) survives model mask m. */
export function dellaKeeps(m: DellaMask, len: number, r: number, counter: number): boolean {
  if (m.mode !== 'draw') return m.mode === 'all';
  const u = randomU32Keyed(m.key0, m.key1, counter >>> 0) >>> (32 - RNG_UNIT_BITS);
  // An axis of length 1: D = 2, r − 1 = 1, i.e. p = density.
  const d = len > 1 ? len - 1 : 2;
  const rr = len > 1 ? r : 1;
  return u * d < m.lo * d + m.span * rr;
}

/** Each model's 0/1 keep mask (after ranking). */
export function dellaKeepMasks(models: readonly Float32Array[], base: Float32Array, masks: readonly DellaMask[], axis: RankAxis, offset: number): Uint8Array[] {
  return models.map((model, i) => {
    const m = masks[i]!;
    const keep = new Uint8Array(base.length);
    if (m.mode === 'all') keep.fill(1);
    if (m.mode !== 'draw') return keep;
    const ranks = dellaRanks(model, base, axis);
    for (let j = 0; j < base.length; j++) keep[j] = dellaKeeps(m, axis.length, ranks[j]!, offset + j) ? 1 : 0;
    return keep;
  });
}

/** Per model, the f32 L1 rescale ‖τ‖₁ / ‖mask·τ‖₁ (1 when either is below 1e-7, or density ≥ 1). Sums in float64. */
export function dellaScales(models: readonly Float32Array[], base: Float32Array, keeps: readonly Uint8Array[], masks: readonly DellaMask[], rescale: boolean): number[] {
  const tau = new Float32Array(1);
  return models.map((m, i) => {
    if (!rescale || masks[i]!.mode !== 'draw') return 1;
    let before = 0;
    let after = 0;
    const keep = keeps[i]!;
    for (let j = 0; j < base.length; j++) {
      tau[0] = m[j]! - base[j]!;
      const a = Math.abs(tau[0]!);
      before += a;
      if (keep[j]) after += a;
    }
    return before < DELLA_RESCALE_EPS || after < DELLA_RESCALE_EPS ? 1 : Math.fround(before / after);
  });
}

/** c_i = w_i·f32(τ_i·scale_i) where model i's mask keeps the entry, else +0. */
export function dellaContribution(models: readonly Float32Array[], base: Float32Array, w32: Float32Array, keeps: readonly Uint8Array[], scales: readonly number[]): ContributionFn {
  return (i, start, len, dst) => {
    const m = models[i]!;
    const keep = keeps[i]!;
    const w = w32[i]!;
    const s = Math.fround(scales[i]!);
    for (let jj = 0; jj < len; jj++) {
      const j = start + jj;
      dst[jj] = keep[j] ? w * Math.fround(Math.fround(m[j]! - base[j]!) * s) : 0;
    }
  };
}

/** Everything the merge decides before summing: masks, keep bits and rescales. */
export function dellaPlan(models: readonly Float32Array[], base: Float32Array, params: DellaParams, where = 'della.cpu.ts') {
  const n = base.length;
  const offset = params.offset ?? 0;
  checkDareCounters(params.seed, offset, n, where);
  const densities = resolvePerModel(params.density, 1, models.length, Number.isFinite, 'density', where);
  const epsilons = resolvePerModel(params.epsilon, 0.15, models.length, Number.isFinite, 'epsilon', where);
  const masks = dellaMasks(densities, epsilons, params.seed, where);
  const axis = rankAxis(params.dims, n);
  const keeps = dellaKeepMasks(models, base, masks, axis, offset);
  const scales = dellaScales(models, base, keeps, masks, params.rescale ?? true);
  return { masks, axis, keeps, scales, offset };
}

export function dellaMerge(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: DellaParams): void {
  const where = 'della.cpu.ts';
  checkTensors(models, base, out, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const consensus = params.consensus ?? 'ties';
  if (consensus !== 'none' && consensus !== 'ties') throw new KernelParamsError(`${where}: consensus must be 'none' or 'ties', got ${String(consensus)}`);
  const normalize = params.normalize ?? true;
  const { keeps, scales } = dellaPlan(models, base, params, where);
  const w32 = Float32Array.from(weights);
  const contribution = dellaContribution(models, base, w32, keeps, scales);
  if (consensus === 'ties') consensusMerge(out.length, models.length, base, out, w32, lambda, normalize, contribution);
  else combineLinear(out.length, models.length, base, out, sumScale(weights, lambda, normalize), contribution);
}

