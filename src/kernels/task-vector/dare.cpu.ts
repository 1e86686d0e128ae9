/**
 * DARE (Yu et al. 2023; mergekit `dare_linear` / `dare_ties`), per tensor: drop each
 * element of τ_i = θ_i − base with probability 1 − p (p = density), rescale survivors
 * (rescale, default true) by 1/p (norm 'density', the paper's and this kernel's default),
 * or so the masked τ_i keeps τ_i's L1 norm as mergekit does (norm 'l1', what the dare
 * methods default to; 'l2' and 'linf' likewise; unscaled when either norm is below 1e-7:
 * a two-pass merge, CPU only), then either
 *   consensus 'none' (dare_linear): out = base + λ·Σ w_i τ̃_i   (÷ Σ w_i with normalize)
 *   consensus 'ties' (dare_ties):   TIES sign election + disjoint merge of w_i τ̃_i
 * normalize defaults to false for both, as in mergekit; density 1 reproduces task
 * arithmetic (or TIES at density 1) exactly.
 *
 * The mask is the project's counter-based RNG: element j of model i is kept when
 * randomUnit(seed, i, offset + j) < p, compared as integers (probabilityThreshold), so
 * the WGSL twin draws the same mask bit for bit and a seed reproduces a merge. offset is
 * the tensor's first index in the flattened parameter vector, so tensors (and a tensor
 * cut into pieces) never share a mask pattern.
 * Where WebAssembly SIMD is available (staged-merges/staged-merges.wasm.ts), the hash runs four
 * lanes at a time there: consensus 'none' and the 'l1' / 'l2' rescale's norm sums run whole
 * in the staged kernel, and every other path takes its keep masks from it; the bits are the
 * TypeScript loops' (dare.cpu.test.ts holds both to staged-merges/dare.reference.ts).
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { stagedMerges } from '../staged-merges/staged-merges.wasm';
import { KernelParamsError } from '../errors';
import { RNG_MIX_M1, RNG_MIX_M2 } from '../rng/rng.cpu';
import { laneTotal, THREAD_CHUNK } from '../threads/chunked-call';
import {
  checkDareCounters,
  checkLambda,
  dareMasks,
  isKeepProbability,
  resolvePerModel,
  resolveWeights,
  sumScale,
  type DareModelMask,
} from './params';
import { checkTensors, combineLinear, MERGE_BLOCK, type ContributionFn } from './linear.cpu';
import { consensusMerge, type TiesVote } from './ties.cpu';

export type DareConsensus = 'none' | 'ties';

export interface DareParams {
  /** Keep probability p in (0, 1] (scalar or per model). */
  density: number | readonly number[];
  /** RNG seed of the drop masks. */
  seed: number;
  /** Global index of this tensor's element 0 (RNG counter base), default 0. */
  offset?: number;
  /** 'none' = dare_linear (default), 'ties' = dare_ties. */
  consensus?: DareConsensus;
  /** The TIES vote under consensus 'ties' (default 'sum'). */
  vote?: TiesVote;
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Scale λ on the merged task vector, default 1. */
  lambda?: number;
  /** Divide by Σ w (linear) or by the agreeing weights (ties); default false, as mergekit. */
  normalize?: boolean;
  /** Rescale the survivors (default true). */
  rescale?: boolean;
  /** What the rescale keeps: 1/p (default here, the paper's expectation), or the tensor's L1 (mergekit; the dare methods' default), L2 or L∞ norm. */
  rescaleNorm?: DareRescaleNorm;
  /** The GPU encoder's per-model rescale, computed beforehand (dare-norms.ts); replaces rescale/rescaleNorm there. */
  scales?: readonly number[];
}

export type DareRescaleNorm = 'l1' | 'l2' | 'linf' | 'density';

/** mergekit leaves a masked tensor unscaled when its norm or the original's is below this. */
export const DARE_RESCALE_EPS = 1e-7;

const normTau = new Float32Array(MERGE_BLOCK);
const normKept = new Float32Array(MERGE_BLOCK);
const normKeptBits = new Int32Array(normKept.buffer);

/**
 * Per model, the f32 factor that gives the masked τ_i the norm of τ_i (1 when either is
 * below DARE_RESCALE_EPS). Norms accumulate in float64 over the f32 τ values the merge uses.
 */
export function dareNormScales(
  models: readonly Float32Array[],
  base: Float32Array,
  masks: readonly DareModelMask[],
  offset: number,
  norm: Exclude<DareRescaleNorm, 'density'>,
  useWasm = true,
): number[] {
  return dareNorms(models, base, masks, offset, norm, useWasm).map(([before, after]) =>
    before < DARE_RESCALE_EPS || after < DARE_RESCALE_EPS ? 1 : Math.fround(before / after),
  );
}

/**
 * Per model, [‖τ_i‖, ‖τ̃_i‖] in the given norm (τ̃_i: τ_i masked, unscaled), f64. 'l1' and 'l2'
 * sum in element order, two scalar chains: in the staged kernel where wasm SIMD is available
 * (the same sums bit for bit), else in the loop below; 'linf' always runs here.
 */
export function dareNorms(
  models: readonly Float32Array[],
  base: Float32Array,
  masks: readonly DareModelMask[],
  offset: number,
  norm: Exclude<DareRescaleNorm, 'density'>,
  useWasm = true,
): [number, number][] {
  const staged = useWasm ? stagedMerges(Infinity, 0) : null;
  const sums = staged && norm !== 'linf' ? staged.dareNorms(models, base, masks, offset, norm) : dareNormSumsHere(models, base, masks, offset, norm, useWasm);
  return norm === 'l2' ? sums.map(([before, after]) => [Math.sqrt(before), Math.sqrt(after)]) : sums;
}

/** dareNorms' sums in TypeScript (l2: of squares; linf: maxima), over the unit-weight contribution's masked τ. */
function dareNormSumsHere(
  models: readonly Float32Array[],
  base: Float32Array,
  masks: readonly DareModelMask[],
  offset: number,
  norm: Exclude<DareRescaleNorm, 'density'>,
  useWasm: boolean,
): [number, number][] {
  const unit = dareContribution(models, base, new Float32Array(models.length).fill(1), masks.map((m) => ({ ...m, scale: 1 })), offset, useWasm);
  return models.map((m, i) => {
    // l1, l2: four lanes (element j in lane j mod 4) per THREAD_CHUNK, the chunks' sums added
    // in order (threads/chunked-call.ts); linf: the maxima, in lane 0.
    const before = [0, 0, 0, 0];
    const after = [0, 0, 0, 0];
    let beforeChunks = 0;
    let afterChunks = 0;
    for (let start = 0; start < base.length; start += MERGE_BLOCK) {
      const len = Math.min(MERGE_BLOCK, base.length - start);
      if (norm !== 'linf' && start > 0 && start % THREAD_CHUNK === 0) {
        beforeChunks += laneTotal(before);
        afterChunks += laneTotal(after);
        before.fill(0);
        after.fill(0);
      }
      unit(i, start, len, normKept, normKeptBits);
      for (let jj = 0; jj < len; jj++) normTau[jj] = m[start + jj]! - base[start + jj]!;
      for (let jj = 0; jj < len; jj++) {
        const a = Math.abs(normTau[jj]!);
        const k = Math.abs(normKept[jj]!);
        // Blocks start at multiples of 4: jj's lane is the element's.
        const l = jj & 3;
        if (norm === 'l1') {
          before[l]! += a;
          after[l]! += k;
        } else if (norm === 'l2') {
          before[l]! += a * a;
          after[l]! += k * k;
        } else {
          before[0] = Math.max(before[0]!, a);
          after[0] = Math.max(after[0]!, k);
        }
      }
    }
    if (norm === 'linf') return [before[0]!, after[0]!];
    return [beforeChunks + laneTotal(before), afterChunks + laneTotal(after)];
  });
}

/** The masks with each model's rescale resolved (1/p, a norm ratio, or 1); density 1 is never rescaled. */
export function resolvedDareMasks(
  models: readonly Float32Array[],
  base: Float32Array,
  densities: readonly number[],
  seed: number,
  offset: number,
  rescale: boolean,
  norm: DareRescaleNorm,
  useWasm = true,
): DareModelMask[] {
  const masks = dareMasks(densities, seed, rescale && norm === 'density');
  if (!rescale || norm === 'density') return masks;
  const scales = dareNormScales(models, base, masks, offset, norm, useWasm);
  return masks.map((m, i) => ({ ...m, scale: densities[i]! >= 1 ? 1 : scales[i]! }));
}

/** c_i = w_i·(τ_i·scale_i) where model i's mask keeps the element, else 0. */
export function dareContribution(
  models: readonly Float32Array[],
  base: Float32Array,
  w32: Float32Array,
  masks: readonly DareModelMask[],
  offset: number,
  useWasm = true,
): ContributionFn {
  const staged = useWasm ? stagedMerges(Infinity, 0) : null;
  if (!staged) return hashedContribution(models, base, w32, masks, offset);
  return (i, start, len, dst, dstBits) => {
    const m = models[i]!;
    const b = base;
    const w = w32[i]!;
    const { key0, key1, threshold, scale } = masks[i]!;
    const keep = staged.dareMask(len, (offset + start) | 0, key0, key1, threshold);
    for (let jj = 0; jj < len; jj++) {
      dst[jj] = w * Math.fround(Math.fround(m[start + jj]! - b[start + jj]!) * scale);
      dstBits[jj] = dstBits[jj]! & keep[jj]!;
    }
  };
}

/** dareContribution with the hash computed here, element by element (no WebAssembly). */
function hashedContribution(
  models: readonly Float32Array[],
  base: Float32Array,
  w32: Float32Array,
  masks: readonly DareModelMask[],
  offset: number,
): ContributionFn {
  const m1 = RNG_MIX_M1;
  const m2 = RNG_MIX_M2;
  return (i, start, len, dst, dstBits) => {
    const m = models[i]!;
    const b = base;
    const w = w32[i]!;
    const { threshold, scale } = masks[i]!;
    // As int32: V8 keeps the hash in integer registers (a u32 above 2^31 is a heap double).
    const k0 = masks[i]!.key0 | 0;
    const k1 = masks[i]!.key1 | 0;
    const first = (offset + start) | 0;
    for (let jj = 0; jj < len; jj++) {
      // randomU32Keyed(k0, k1, offset + j), inlined (see rng.cpu.ts).
      let h = (first + jj) ^ k0;
      h ^= h >>> 16;
      h = Math.imul(h, m1);
      h ^= h >>> 15;
      h = Math.imul(h, m2);
      h ^= h >>> 16;
      h = (h + k1) | 0;
      h ^= h >>> 16;
      h = Math.imul(h, m1);
      h ^= h >>> 15;
      h = Math.imul(h, m2);
      h ^= h >>> 16;
      // Drop without a branch (a coin flip mispredicts half the time, tripling the loop's
      // cost): all ones when (h >>> 8) < threshold (both < 2^25, no overflow), and the
      // stored bits are cleared otherwise, giving +0 like the shader's select.
      const keep = ((h >>> 8) - threshold) >> 31;
      dst[jj] = w * Math.fround(Math.fround(m[start + jj]! - b[start + jj]!) * scale);
      dstBits[jj] = dstBits[jj]! & keep;
    }
  };
}

export function dareMerge(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: DareParams): void {
  dareMergeWith(models, base, out, params, true);
}

/** dareMerge; useWasm false keeps every loop in TypeScript (the tests compare both paths). */
export function dareMergeWith(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: DareParams, useWasm: boolean): void {
  const where = 'methods/dare.ts';
  checkTensors(models, base, out, where);
  const n = out.length;
  const offset = params.offset ?? 0;
  checkDareCounters(params.seed, offset, n, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const densities = resolvePerModel(params.density, 1, models.length, isKeepProbability, 'density (keep probability)', where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const normalize = params.normalize ?? false;
  const consensus = params.consensus ?? 'none';
  if (consensus !== 'none' && consensus !== 'ties') throw new KernelParamsError(`${where}: consensus must be 'none' or 'ties', got ${String(consensus)}`);
  const w32 = Float32Array.from(weights);
  const norm = params.rescaleNorm ?? 'density';
  if (!['l1', 'l2', 'linf', 'density'].includes(norm)) throw new KernelParamsError(`${where}: rescaleNorm must be l1, l2, linf or density, got ${String(norm)}`);
  const masks = resolvedDareMasks(models, base, densities, params.seed, offset, params.rescale ?? true, norm, useWasm);
  const contribution = dareContribution(models, base, w32, masks, offset, useWasm);
  // The hash dominates at every size: staged from the first float.
  const staged = useWasm ? stagedMerges(n, 0) : null;
  if (consensus === 'ties') {
    consensusMerge(n, models.length, base, out, w32, lambda, normalize, contribution, params.vote ?? 'sum');
  } else if (staged) {
    const perModel = masks.map((m, i) => ({ weight: w32[i]!, scale: m.scale, key0: m.key0, key1: m.key1, threshold: m.threshold }));
    staged.dareLinear(models, base, out, perModel, sumScale(weights, lambda, normalize), offset);
  } else {
    combineLinear(n, models.length, base, out, sumScale(weights, lambda, normalize), contribution);
  }
}
