/**
 * Linear merge (mergekit `linear`): out = Σ w_i θ_i / Σ w_i, per tensor, no base model.
 * With normalize: false the weighted sum is returned as is. |Σ w| < 1e-8 divides by 1,
 * as mergekit does.
 *
 * Also the shared block loop of every "sum" merger (task arithmetic, DARE-linear):
 * each model's contribution c_i = w_i·x̃_i is produced a block at a time into cache-sized
 * scratch, so each input is read once and nothing is allocated per call or element.
 * f32 arithmetic in the order the GPU passes use (c_0 + c_1 + … then the scale), so the
 * twins agree to the ulp (the GPU may fuse a multiply-add).
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { KernelParamsError } from '../errors';
import { checkModelCount, resolveWeights, sumScale } from './params';

export interface LinearMergeParams {
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Divide by Σ w (default true, like mergekit's linear). */
  normalize?: boolean;
}

/**
 * Writes c_i = w_i·x̃_i for elements [start, start + len) of model i into dst[0, len).
 * dstBits is an Int32Array view of dst's bytes, for masks applied without a branch.
 */
export type ContributionFn = (model: number, start: number, len: number, dst: Float32Array, dstBits: Int32Array) => void;

/** Elements per block of the CPU merge loops: N + 2 blocks of scratch stay in L1/L2. */
export const MERGE_BLOCK = 2048;

const acc = new Float32Array(MERGE_BLOCK);
const accBits = new Int32Array(acc.buffer);
const term = new Float32Array(MERGE_BLOCK);
const termBits = new Int32Array(term.buffer);

/** out = base + scale·Σ_i c_i, or scale·Σ_i c_i without a base. */
export function combineLinear(
  n: number,
  modelCount: number,
  base: Float32Array | null,
  out: Float32Array,
  scale: number,
  contribution: ContributionFn,
): void {
  const s = Math.fround(scale);
  for (let start = 0; start < n; start += MERGE_BLOCK) {
    const len = Math.min(MERGE_BLOCK, n - start);
    contribution(0, start, len, acc, accBits);
    for (let i = 1; i < modelCount; i++) {
      contribution(i, start, len, term, termBits);
      for (let jj = 0; jj < len; jj++) acc[jj]! += term[jj]!;
    }
    if (base) {
      for (let jj = 0; jj < len; jj++) out[start + jj] = base[start + jj]! + Math.fround(s * acc[jj]!);
    } else {
      for (let jj = 0; jj < len; jj++) out[start + jj] = s * acc[jj]!;
    }
  }
}

/** Lengths of models (and base) must equal out's; throws KernelParamsError naming `where`. */
export function checkTensors(models: readonly Float32Array[], base: Float32Array | null, out: Float32Array, where: string): void {
  checkModelCount(models.length, where);
  const n = out.length;
  models.forEach((m, i) => {
    if (m.length !== n) throw new KernelParamsError(`${where}: model ${i} has ${m.length} elements, out has ${n}`);
  });
  if (base && base.length !== n) throw new KernelParamsError(`${where}: base has ${base.length} elements, out has ${n}`);
}

export function linearMerge(models: readonly Float32Array[], out: Float32Array, params: LinearMergeParams = {}): void {
  const where = 'methods/linear.ts';
  checkTensors(models, null, out, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const w32 = Float32Array.from(weights);
  combineLinear(out.length, models.length, null, out, sumScale(weights, 1, params.normalize ?? true), (i, start, len, dst) => {
    const m = models[i]!;
    const w = w32[i]!;
    for (let jj = 0; jj < len; jj++) dst[jj] = w * m[start + jj]!;
  });
}
