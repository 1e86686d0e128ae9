/**
 * Task arithmetic (Ilharco et al. 2023; mergekit `task_arithmetic`), per tensor:
 *   out = base + λ·Σ w_i τ_i,  τ_i = θ_i − base
 * normalize: true divides Σ w_i τ_i by Σ w_i (mergekit's default for this method is
 * false). f32 arithmetic in the GPU passes' order: τ, w·τ, the running sum, λ·sum, + base.
 * Pure module: typed arrays in, typed arrays out; out may alias an input.
 */
import { checkLambda, resolveWeights, sumScale } from './params';
import { checkTensors, combineLinear, type ContributionFn } from './linear.cpu';

export interface TaskArithmeticParams {
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Scale λ on the summed task vectors, default 1 (0.3 to 1 is typical). */
  lambda?: number;
  /** Divide the weighted sum by Σ w (default false, like mergekit). */
  normalize?: boolean;
}

/** c_i = w_i·(θ_i − base), block by block: the contribution of every unsparsified task vector. */
export function deltaContribution(models: readonly Float32Array[], base: Float32Array, w32: Float32Array): ContributionFn {
  return (i, start, len, dst) => {
    const m = models[i]!;
    const w = w32[i]!;
    for (let jj = 0; jj < len; jj++) dst[jj] = w * Math.fround(m[start + jj]! - base[start + jj]!);
  };
}

export function taskArithmeticMerge(
  models: readonly Float32Array[],
  base: Float32Array,
  out: Float32Array,
  params: TaskArithmeticParams = {},
): void {
  const where = 'methods/task-arithmetic.ts';
  checkTensors(models, base, out, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const scale = sumScale(weights, checkLambda(params.lambda ?? 1, where), params.normalize ?? false);
  combineLinear(out.length, models.length, base, out, scale, deltaContribution(models, base, Float32Array.from(weights)));
}
