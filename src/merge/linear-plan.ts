/**
 * The f32 constants linear and task arithmetic use per tensor, derived as their CPU twins derive
 * them (task-vector/params.ts). Shared by the population's incremental update
 * (population/incremental-merge.ts), the WebAssembly SIMD merges (kernels/linear-combine) and the
 * streamed BF16 merge (stream-bf16.ts).
 */
import { resolveWeights, sumScale } from '../kernels/task-vector/params';
import type { ParameterLayout } from './layout';
import { paramValue } from './method';
import { LAMBDA, normalizeOf } from './methods/common';
import { paramsForTensor } from './param-rules';
import { methodFor } from './registry';
import type { MergeParams } from '../protocol/settings';

/** Methods whose merge is linear in each model, so one replacement is one weighted difference. */
export const LINEAR_METHODS: readonly string[] = ['linear', 'task_arithmetic'];

/** Each model's weight and the scale s, per tensor. */
export interface LinearMergePlan {
  method: 'linear' | 'task_arithmetic';
  modelCount: number;
  /** Per tensor (layout order): the models' f32 weights. */
  weights: Float32Array[];
  /** Per tensor: the f32 scale s (λ, 1, or over Σw). */
  scales: Float32Array;
}

/** The plan of a linear or task-arithmetic merge, or null for any other (or a data-aware) merge. */
export function linearMergePlan(params: MergeParams, layout: ParameterLayout, modelCount: number, hasBase: boolean, inputs: unknown = null): LinearMergePlan | null {
  if (!LINEAR_METHODS.includes(params.method) || inputs !== null) return null;
  const method = methodFor(params.method);
  const taskArithmetic = params.method === 'task_arithmetic';
  if (taskArithmetic && !hasBase) return null;
  const normalize = method.options?.find((o) => o.key === 'normalize');
  if (!normalize || normalize.type !== 'boolean') return null;
  const where = 'merge/linear-plan.ts';
  const scales = new Float32Array(layout.slots.length);
  const weights = layout.slots.map((slot, s) => {
    const p = paramsForTensor(params, slot.name, slot.depth);
    const w = resolveWeights(p.weights, modelCount, where);
    scales[s] = sumScale(w, taskArithmetic ? paramValue(p, LAMBDA) : 1, normalizeOf(p, normalize));
    return Float32Array.from(w);
  });
  return { method: taskArithmetic ? 'task_arithmetic' : 'linear', modelCount, weights, scales };
}

