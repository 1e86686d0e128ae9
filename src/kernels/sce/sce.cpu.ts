/**
 * SCE (Wan et al. 2024, FuseChat; mergekit `sce`), per tensor, with τ_i = θ_i − base:
 *   select:    when select_topk < 1, keep only the entries whose variance across the models
 *              (population variance of τ_·j) is among the top ⌊select_topk · #nonzero⌋;
 *              select_topk ≤ 0 keeps none (out = base)
 *   calculate: w_i = mean_j τ̃_ij² / Σ_k mean_j τ̃_kj² (1/N each when that sum is below 1e-6)
 *   erase:     per entry, the models whose τ̃_ij has the sign of Σ_i τ̃_ij (+ when ≥ 0; a zero
 *              never agrees) contribute: out = base + Σ_agree w_i τ̃_ij / max(Σ_agree w_i, 1e-6)
 * As mergekit's sce_merge, including its thresholds. Equal variances at the cut are kept
 * in index order (torch.topk leaves them unspecified), by the exact top-k select of
 * magnitude-select.cpu.ts. f32 arithmetic as the tensors; the weights' sums in float64.
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { KernelParamsError } from '../errors';
import { keptByCut, magnitudeBits, topKMagnitudeCut } from '../task-vector/magnitude-select.cpu';
import { checkTensors } from '../task-vector/linear.cpu';

export interface SceParams {
  /** mergekit's select_topk: the fraction of (non-zero-variance) entries kept, default 1 (all). */
  selectTopk?: number;
}

/** Below this, Σ of the models' mean squared task vectors gives equal weights (mergekit). */
export const SCE_WEIGHT_SUM_EPS = 1e-6;
/** The erased weights' sum is clamped to at least this (mergekit). */
export const SCE_DIVISOR_MIN = 1e-6;

/**
 * Population variance of τ_·j across the models, in f32 steps (the GPU twin's order), of the
 * task vectors shifted by model 0's (d_i = τ_i − τ_0; the same variance): identical task
 * vectors give exactly 0, as torch's var does, so they stay out of the non-zero count that
 * sets k. (Unshifted, Σ·(1/N) misses τ by an ulp for a third of the entries with N = 3.)
 */
export function sceVariance(models: readonly Float32Array[], base: Float32Array): Float32Array {
  const n = base.length;
  const inv = Math.fround(1 / models.length);
  const m0 = models[0]!;
  const shifted = (m: Float32Array, j: number) => Math.fround(Math.fround(m[j]! - base[j]!) - Math.fround(m0[j]! - base[j]!));
  const sum = new Float32Array(n);
  for (const m of models) for (let j = 0; j < n; j++) sum[j] = sum[j]! + shifted(m, j);
  const mean = sum.map((s) => Math.fround(s * inv));
  const acc = new Float32Array(n);
  for (const m of models) {
    for (let j = 0; j < n; j++) {
      const d = Math.fround(shifted(m, j) - mean[j]!);
      acc[j] = acc[j]! + Math.fround(d * d);
    }
  }
  return acc.map((a) => Math.fround(a * inv));
}

/** The select step's keep count: ⌊select_topk · #nonzero variances⌋ (0 for select_topk ≤ 0; n for ≥ 1). */
export function sceKeepCount(variance: Float32Array, selectTopk: number): number {
  if (!Number.isFinite(selectTopk)) throw new KernelParamsError(`sce.cpu.ts: select_topk must be finite, got ${selectTopk}`);
  if (selectTopk >= 1) return variance.length;
  if (selectTopk <= 0) return 0;
  let nonzero = 0;
  for (const v of variance) if (v !== 0) nonzero++;
  return Math.floor(nonzero * selectTopk);
}

/** 1 where the select step keeps entry j. */
export function sceSelectMask(models: readonly Float32Array[], base: Float32Array, selectTopk: number): Uint8Array {
  const n = base.length;
  const mask = new Uint8Array(n);
  if (selectTopk >= 1) return mask.fill(1);
  const variance = sceVariance(models, base);
  const k = sceKeepCount(variance, selectTopk);
  if (k === 0) return mask;
  const cut = topKMagnitudeCut(variance, k);
  for (let j = 0; j < n; j++) mask[j] = keptByCut(cut, magnitudeBits(variance[j]!), j) ? 1 : 0;
  return mask;
}

/** The calculate step: each model's weight from its masked task vector's mean square. */
export function sceWeights(models: readonly Float32Array[], base: Float32Array, mask: Uint8Array): number[] {
  const n = base.length;
  const tau = new Float32Array(1);
  const means = models.map((m) => {
    let s = 0;
    for (let j = 0; j < n; j++) {
      if (!mask[j]) continue;
      tau[0] = m[j]! - base[j]!;
      s += tau[0]! * tau[0]!;
    }
    return n === 0 ? 0 : s / n;
  });
  const total = means.reduce((a, b) => a + b, 0);
  if (Math.abs(total) < SCE_WEIGHT_SUM_EPS) return models.map(() => 1 / models.length);
  return means.map((v) => v / total);
}

export function sceMerge(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: SceParams = {}): void {
  const where = 'sce.cpu.ts';
  checkTensors(models, base, out, where);
  const n = base.length;
  const mask = sceSelectMask(models, base, params.selectTopk ?? 1);
  const w32 = Float32Array.from(sceWeights(models, base, mask));
  const tau = new Float32Array(models.length);
  for (let j = 0; j < n; j++) {
    const b = base[j]!;
    let sum = 0;
    for (let i = 0; i < models.length; i++) {
      tau[i] = mask[j] ? models[i]![j]! - b : 0;
      sum = Math.fround(sum + tau[i]!);
    }
    const positive = sum >= 0;
    let num = 0;
    let den = 0;
    for (let i = 0; i < models.length; i++) {
      const t = tau[i]!;
      if (positive ? t > 0 : t < 0) {
        num = Math.fround(num + Math.fround(t * w32[i]!));
        den = Math.fround(den + w32[i]!);
      }
    }
    out[j] = b + Math.fround(num / Math.max(den, Math.fround(SCE_DIVISOR_MIN)));
  }
}
