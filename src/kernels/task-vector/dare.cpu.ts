/**
 * DARE (Yu et al. 2023; mergekit `dare_linear` / `dare_ties`), per tensor: drop each
 * element of τ_i = θ_i − base with probability 1 − p (p = density), rescale survivors
 * by 1/p (rescale, default true), then either
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
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { KernelParamsError } from '../errors';
import { RNG_MIX_M1, RNG_MIX_M2 } from '../rng/rng.cpu';
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
import { checkTensors, combineLinear, type ContributionFn } from './linear.cpu';
import { consensusMerge } from './ties.cpu';

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
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Scale λ on the merged task vector, default 1. */
  lambda?: number;
  /** Divide by Σ w (linear) or by the agreeing weights (ties); default false, as mergekit. */
  normalize?: boolean;
  /** Multiply survivors by 1/p (default true). */
  rescale?: boolean;
}

/** c_i = w_i·(τ_i·scale_i) where model i's mask keeps the element, else 0. */
export function dareContribution(
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
  const contribution = dareContribution(models, base, w32, dareMasks(densities, params.seed, params.rescale ?? true), offset);
  if (consensus === 'ties') {
    consensusMerge(n, models.length, base, out, w32, lambda, normalize, contribution);
  } else {
    combineLinear(n, models.length, base, out, sumScale(weights, lambda, normalize), contribution);
  }
}
