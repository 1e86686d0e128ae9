/**
 * Fisher-weighted merge, CPU twin of fisher-merge.wgsl.ts, in f32 like the GPU:
 *   out_j = Σ_m F_m[j]·θ_m[j] / Σ_m F_m[j],  or mean_m θ_m[j] where Σ_m F_m[j] is not > 0.
 * Fisher values arrive as f32 because that is what the GPU holds; the f64 original in
 * src/eval/fisher.ts (fisherWeightedMerge) stays the engine's CPU path. Sums run in
 * model order with an f32 rounding per step, as the one-model-per-pass GPU encoder does
 * (the GPU may fuse F·θ + num into an FMA, and WGSL's f32 division is within 2.5 ulp).
 * Pure module: typed arrays in, typed arrays out.
 */
import { KernelParamsError } from '../errors';

export function validateFisherMerge(modelCount: number, fisherCount: number): void {
  if (modelCount < 1) throw new KernelParamsError('fisher-merge: no models to merge');
  if (fisherCount !== modelCount) {
    throw new KernelParamsError(`fisher-merge: ${modelCount} models but ${fisherCount} Fisher tensors`);
  }
}

export function fisherMergeCpu(models: readonly Float32Array[], fishers: readonly Float32Array[], out: Float32Array): void {
  validateFisherMerge(models.length, fishers.length);
  const n = out.length;
  for (let m = 0; m < models.length; m++) {
    if (models[m]!.length !== n || fishers[m]!.length !== n) {
      throw new KernelParamsError(
        `fisher-merge.cpu.ts: model ${m} has ${models[m]!.length} values and Fisher ${fishers[m]!.length}, out has ${n}`,
      );
    }
  }
  const count = models.length;
  const f = Math.fround;
  for (let j = 0; j < n; j++) {
    let num = 0;
    let den = 0;
    let sum = 0;
    for (let m = 0; m < count; m++) {
      const fm = fishers[m]![j]!;
      const theta = models[m]![j]!;
      num = f(num + f(fm * theta));
      den = f(den + fm);
      sum = f(sum + theta);
    }
    out[j] = den > 0 ? num / den : sum / count;
  }
}
