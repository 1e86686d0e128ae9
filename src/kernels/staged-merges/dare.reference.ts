/**
 * Test twin: dare.cpu.ts's TypeScript DARE as it stood before its WebAssembly fast path
 * (per-element hash inlined in a contribution closure, combineLinear / consensusMerge).
 * The tests hold the fast path to these bits. Imported by *.test.ts only.
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
} from '../task-vector/params';
import { checkTensors, combineLinear, MERGE_BLOCK, type ContributionFn } from '../task-vector/linear.cpu';
import { consensusMerge } from '../task-vector/ties.cpu';
import { THREAD_CHUNK } from '../threads/chunked-call';
import { DARE_RESCALE_EPS, type DareParams, type DareRescaleNorm } from '../task-vector/dare.cpu';


const normTau = new Float32Array(MERGE_BLOCK);
const normKept = new Float32Array(MERGE_BLOCK);
const normKeptBits = new Int32Array(normKept.buffer);

/**
 * Per model, the f32 factor that gives the masked τ_i the norm of τ_i (1 when either is
 * below DARE_RESCALE_EPS). Norms accumulate in float64 over the f32 τ values the merge uses.
 */
/** Σ values: four lanes (j mod 4) within each THREAD_CHUNK, (l0 + l1) + (l2 + l3), the chunks added in order. */
function chunkLaneSum(values: Float64Array): number {
  let total = 0;
  for (let start = 0; start < values.length; start += THREAD_CHUNK) {
    const lanes = [0, 0, 0, 0];
    for (let j = start; j < Math.min(values.length, start + THREAD_CHUNK); j++) lanes[j % 4]! += values[j]!;
    total += lanes[0]! + lanes[1]! + (lanes[2]! + lanes[3]!);
  }
  return total;
}

export function dareNormScalesReference(
  models: readonly Float32Array[],
  base: Float32Array,
  masks: readonly DareModelMask[],
  offset: number,
  norm: Exclude<DareRescaleNorm, 'density'>,
): number[] {
  const unit = dareContributionReference(models, base, new Float32Array(models.length).fill(1), masks.map((m) => ({ ...m, scale: 1 })), offset);
  return models.map((m, i) => {
    // |τ| and |τ̃| of every element, then summed chunk by chunk (l1, l2) or maximized (linf).
    const tau = new Float64Array(base.length);
    const kept = new Float64Array(base.length);
    for (let start = 0; start < base.length; start += MERGE_BLOCK) {
      const len = Math.min(MERGE_BLOCK, base.length - start);
      unit(i, start, len, normKept, normKeptBits);
      for (let jj = 0; jj < len; jj++) normTau[jj] = m[start + jj]! - base[start + jj]!;
      for (let jj = 0; jj < len; jj++) {
        tau[start + jj] = Math.abs(normTau[jj]!);
        kept[start + jj] = Math.abs(normKept[jj]!);
      }
    }
    const term = (v: number) => (norm === 'l2' ? v * v : v);
    let before = norm === 'linf' ? tau.reduce((a, v) => Math.max(a, v), 0) : chunkLaneSum(tau.map(term));
    let after = norm === 'linf' ? kept.reduce((a, v) => Math.max(a, v), 0) : chunkLaneSum(kept.map(term));
    if (norm === 'l2') {
      before = Math.sqrt(before);
      after = Math.sqrt(after);
    }
    return before < DARE_RESCALE_EPS || after < DARE_RESCALE_EPS ? 1 : Math.fround(before / after);
  });
}

/** The masks with each model's rescale resolved (1/p, a norm ratio, or 1); density 1 is never rescaled. */
export function resolvedDareMasksReference(
  models: readonly Float32Array[],
  base: Float32Array,
  densities: readonly number[],
  seed: number,
  offset: number,
  rescale: boolean,
  norm: DareRescaleNorm,
): DareModelMask[] {
  const masks = dareMasks(densities, seed, rescale && norm === 'density');
  if (!rescale || norm === 'density') return masks;
  const scales = dareNormScalesReference(models, base, masks, offset, norm);
  return masks.map((m, i) => ({ ...m, scale: densities[i]! >= 1 ? 1 : scales[i]! }));
}

/** c_i = w_i·(τ_i·scale_i) where model i's mask keeps the element, else 0. */
export function dareContributionReference(
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

export function dareMergeReference(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: DareParams): void {
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
  const masks = resolvedDareMasksReference(models, base, densities, params.seed, offset, params.rescale ?? true, norm);
  const contribution = dareContributionReference(models, base, w32, masks, offset);
  if (consensus === 'ties') {
    consensusMerge(n, models.length, base, out, w32, lambda, normalize, contribution, params.vote ?? 'sum');
  } else {
    combineLinear(n, models.length, base, out, sumScale(weights, lambda, normalize), contribution);
  }
}
