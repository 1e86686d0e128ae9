/**
 * TIES merging (Yadav et al. 2023; mergekit `ties`), per tensor:
 *   1. trim: keep each τ_i = θ_i − base on its top round(density·n) magnitudes, zero the
 *      rest (exact k; ties at the threshold kept in index order, see magnitude-select.cpu.ts)
 *   2. elect: sign per element = sign(Σ_i w_i τ̂_i), + when the sum is ≥ 0 (mergekit "sum"),
 *      or the sign most non-zero w_i τ̂_i have, + on a tie (consensus 'count')
 *   3. disjoint merge: over the models whose contribution w_i τ̂_i is non-zero and has the
 *      elected sign, Σ w_i τ̂_i / Σ w_i (normalize, the default) or Σ w_i τ̂_i; a zero
 *      divisor divides by 1, so an element nobody agrees on stays at the base
 *   out = base + λ·merged
 * Agreement is judged on w_i τ̂_i as mergekit does (the same as on τ̂_i for positive weights).
 *
 * tiesMerge runs the WebAssembly SIMD kernel of kernels/ties-fast (the same bits, usually a
 * sample and one pass over the tensors) where the engine has it; tiesMergeTwin is the
 * TypeScript twin it is held to. In the twin the k-th magnitude is found by histogram
 * select (three O(n) passes), never by sorting, and the merge is one blocked pass over all
 * models: contributions of a block are computed once into cache-resident scratch, summed
 * for the vote, then filtered. consensusMerge and trimmedContribution also serve DARE-TIES,
 * DELLA and breadcrumbs.
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { KEEP_NONE_BITS, topKMagnitudeCut, trimCount, type MagnitudeCut } from './magnitude-select.cpu';
import { checkLambda, isDensity, resolvePerModel, resolveWeights, type TiesVote } from './params';
import { checkTensors, MERGE_BLOCK, type ContributionFn } from './linear.cpu';
import { deltaContribution } from './task-arithmetic.cpu';
import { tiesFastWasm } from '../ties-fast/ties-fast.wasm';

export interface TiesParams {
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Fraction of each task vector kept by magnitude, in [0, 1] (scalar or per model), default 1. */
  density?: number | readonly number[];
  /** Scale λ on the merged task vector, default 1. */
  lambda?: number;
  /** Divide by the agreeing weights (default true, like mergekit's ties). */
  normalize?: boolean;
  /** The vote: 'sum' = sign of Σ w_i τ̂_i (default, TIES), 'count' = the sign most non-zero w_i τ̂_i have (+ on a tie). */
  consensus?: TiesVote;
}

export type { TiesVote };

const tauF32 = new Float32Array(MERGE_BLOCK);
const tauU32 = new Uint32Array(tauF32.buffer);
const signSum = new Float32Array(MERGE_BLOCK);
const signSumBits = new Int32Array(signSum.buffer);
const electedBits = new Int32Array(MERGE_BLOCK);
const SIGN_BIT = -0x8000_0000;
const num = new Float32Array(MERGE_BLOCK);
const den = new Float32Array(MERGE_BLOCK);
let contributions = new Float32Array(MERGE_BLOCK * 8);

/** The trim of each model's task vector: density → k = round(density·n) → exact top-k cut. */
export function tiesCuts(models: readonly Float32Array[], base: Float32Array, densities: readonly number[]): MagnitudeCut[] {
  return models.map((m, i) => topKMagnitudeCut(m, trimCount(densities[i]!, base.length), base));
}

/** c_i = w_i·τ_i where the cut keeps τ_i's magnitude, else 0. */
export function trimmedContribution(
  models: readonly Float32Array[],
  base: Float32Array,
  w32: Float32Array,
  cuts: readonly MagnitudeCut[],
): ContributionFn {
  const untrimmed = deltaContribution(models, base, w32);
  return (i, start, len, dst, dstBits) => {
    const { thresholdBits, tieEnd } = cuts[i]!;
    if (thresholdBits === 0 && tieEnd >= base.length) {
      untrimmed(i, start, len, dst, dstBits);
      return;
    }
    if (thresholdBits === KEEP_NONE_BITS) {
      dst.fill(0, 0, len);
      return;
    }
    const m = models[i]!;
    const w = w32[i]!;
    for (let jj = 0; jj < len; jj++) tauF32[jj] = m[start + jj]! - base[start + jj]!;
    // Branch-free keep mask (a density-d coin per element mispredicts otherwise): all ones
    // when bits > threshold (both < 2^31, so the difference fits an int32), or for a tie
    // below tieEnd (rare, so that branch predicts well).
    for (let jj = 0; jj < len; jj++) {
      const bits = tauU32[jj]! & 0x7fff_ffff;
      const keep = ((thresholdBits - bits) >> 31) | (bits === thresholdBits && start + jj < tieEnd ? -1 : 0);
      dst[jj] = w * tauF32[jj]!;
      dstBits[jj] = dstBits[jj]! & keep;
    }
  };
}

/**
 * Sign election and disjoint merge over per-model contributions (TIES, DARE-TIES):
 * out = base + λ·(Σ agreeing c_i) / (Σ agreeing w_i, or 1).
 */
export function consensusMerge(
  n: number,
  modelCount: number,
  base: Float32Array,
  out: Float32Array,
  w32: Float32Array,
  lambda: number,
  normalize: boolean,
  contribution: ContributionFn,
  vote: TiesVote = 'sum',
): void {
  const lam = Math.fround(lambda);
  if (contributions.length < modelCount * MERGE_BLOCK) contributions = new Float32Array(modelCount * MERGE_BLOCK);
  const views = Array.from({ length: modelCount }, (_, i) => contributions.subarray(i * MERGE_BLOCK, (i + 1) * MERGE_BLOCK));
  const bits = views.map((v) => new Int32Array(v.buffer, v.byteOffset, MERGE_BLOCK));
  for (let start = 0; start < n; start += MERGE_BLOCK) {
    const len = Math.min(MERGE_BLOCK, n - start);
    for (let i = 0; i < modelCount; i++) contribution(i, start, len, views[i]!, bits[i]!);
    if (vote === 'count') {
      signSum.fill(0, 0, len);
      for (let i = 0; i < modelCount; i++) {
        const c = views[i]!;
        for (let jj = 0; jj < len; jj++) signSum[jj]! += Math.sign(c[jj]!);
      }
    } else {
      signSum.set(views[0]!.subarray(0, len));
      for (let i = 1; i < modelCount; i++) {
        const c = views[i]!;
        for (let jj = 0; jj < len; jj++) signSum[jj]! += c[jj]!;
      }
    }
    // Elected sign bit per element: set only for a strictly negative Σ (−0 elects +, as Σ ≥ 0 does).
    for (let jj = 0; jj < len; jj++) {
      const sb = signSumBits[jj]!;
      electedBits[jj] = sb & ((-(sb & 0x7fff_ffff)) >> 31) & SIGN_BIT;
    }
    num.fill(0, 0, len);
    den.fill(0, 0, len);
    for (let i = 0; i < modelCount; i++) {
      const c = views[i]!;
      const cb = bits[i]!;
      const w = w32[i]!;
      for (let jj = 0; jj < len; jj++) {
        // Agreement without a branch (the vote is a coin flip on noisy deltas): c ≠ 0
        // (some magnitude bit set) and c's sign bit equals the elected one.
        const xb = cb[jj]!;
        const agree = ((-(xb & 0x7fff_ffff)) >> 31) & ~((xb ^ electedBits[jj]!) >> 31) & 1;
        num[jj]! += c[jj]! * agree;
        den[jj]! += w * agree;
      }
    }
    for (let jj = 0; jj < len; jj++) {
      const d = den[jj]!;
      const merged = normalize ? Math.fround(num[jj]! / (d === 0 ? 1 : d)) : num[jj]!;
      out[start + jj] = base[start + jj]! + Math.fround(lam * merged);
    }
  }
}

interface ResolvedTies {
  w32: Float32Array;
  densities: number[];
  lambda: number;
  normalize: boolean;
  vote: TiesVote;
}

function resolveTies(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: TiesParams): ResolvedTies {
  const where = 'methods/ties.ts';
  checkTensors(models, base, out, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const densities = resolvePerModel(params.density, 1, models.length, isDensity, 'density', where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  return { w32: Float32Array.from(weights), densities, lambda, normalize: params.normalize ?? true, vote: params.consensus ?? 'sum' };
}

/**
 * TIES on the CPU: the WebAssembly SIMD kernel (kernels/ties-fast, the same bits) where the
 * engine has it, else the TypeScript twin below.
 */
export function tiesMerge(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: TiesParams = {}): void {
  const fast = tiesFastWasm();
  if (!fast || !fast.takes(models.length)) {
    tiesMergeTwin(models, base, out, params);
    return;
  }
  const r = resolveTies(models, base, out, params);
  fast.merge(models, base, out, r);
}

/** The TypeScript twin: three histogram passes per model for the cuts, then the blocked merge. */
export function tiesMergeTwin(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: TiesParams = {}): void {
  const { w32, densities, lambda, normalize, vote } = resolveTies(models, base, out, params);
  const cuts = tiesCuts(models, base, densities);
  consensusMerge(out.length, models.length, base, out, w32, lambda, normalize, trimmedContribution(models, base, w32, cuts), vote);
}
