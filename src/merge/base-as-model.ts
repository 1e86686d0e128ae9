/**
 * The base as one of a method's models, as mergekit reads base_model for methods that do not
 * need one as a base: SLERP takes it as its t = 0 side (the first model, then exactly one
 * other), linear counts it as one more model of the average (the last, weight 1 when the
 * weights leave it out). The CLI's flag merges and the engine's one-shot merges both call this.
 * Pure: plain values in and out.
 */
import type { MergeMethodDef } from './method';
import type { MergeParams } from '../protocol/settings';

export interface MethodModels<T> {
  /** The models the method merges, the base among them where the method reads it so. */
  models: T[];
  /** The base the method still reads as a base (null when it became a model). */
  base: T | null;
  params: MergeParams;
  /** Where each given model sits in `models`. */
  positions: number[];
}

export function baseAsModel<T>(models: readonly T[], base: T | null, method: MergeMethodDef, params: MergeParams): MethodModels<T> {
  const positions = models.map((_, i) => i);
  if (base === null || method.needs.base || !method.baseAsModel) return { models: [...models], base, params, positions };
  const first = method.baseAsModel === 'first';
  const weights = params.weights && params.weights.length === models.length ? (first ? [1, ...params.weights] : [...params.weights, 1]) : params.weights;
  const rules = params.weightRules && params.weightRules.length === models.length ? (first ? [1, ...params.weightRules] : [...params.weightRules, 1]) : params.weightRules;
  return {
    models: first ? [base, ...models] : [...models, base],
    base: null,
    params: { ...params, ...(weights ? { weights } : {}), ...(rules ? { weightRules: rules } : {}) },
    positions: first ? positions.map((i) => i + 1) : positions,
  };
}
