/**
 * Scale-add, CPU twin of scale-add.wgsl.ts:  out_j = α·out_j + β·x_j  in f32.
 *
 * Means and weighted sums of N models are built as N passes, the first with α = 0.
 * α = 0 means "overwrite": out's old contents are not read, so stale NaN/Inf in a
 * reused buffer cannot leak in through 0·NaN. The GPU may fuse into an FMA (~1 ulp).
 * Pure module: typed arrays in, typed arrays out.
 */
import { KernelParamsError } from '../errors';

export function validateScaleAdd(alpha: number, beta: number): void {
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new KernelParamsError(`scale-add: alpha and beta must be finite, got ${alpha}, ${beta}`);
  }
}

export function scaleAddCpu(out: Float32Array, x: Float32Array, alpha: number, beta: number): void {
  const n = out.length;
  if (x.length !== n) throw new KernelParamsError(`scale-add.cpu.ts: lengths differ (out ${n}, x ${x.length})`);
  validateScaleAdd(alpha, beta);
  const a = Math.fround(alpha);
  const b = Math.fround(beta);
  if (a === 0) {
    for (let j = 0; j < n; j++) out[j] = b * x[j]!;
  } else {
    for (let j = 0; j < n; j++) out[j] = Math.fround(a * out[j]!) + Math.fround(b * x[j]!);
  }
}
