/**
 * Parameter checks and host-side constants shared by the task-vector mergers' CPU
 * functions (src/engine/methods) and their GPU encoders, so both twins derive the same
 * f32 weights, scales and RNG thresholds from the same inputs.
 * Pure module: numbers and arrays only.
 */
import { KernelParamsError } from '../errors';
import { probabilityThreshold, rngKey } from '../rng/rng.cpu';

/** mergekit treats |Σ w| below this as "no normalisation possible" and divides by 1. */
export const WEIGHT_SUM_EPSILON = 1e-8;

/** Largest global index + 1 a DARE counter may reach (u32 counters). */
export const DARE_MAX_COUNTER = 0x1_0000_0000;

export function checkModelCount(count: number, where: string): void {
  if (!Number.isInteger(count) || count < 1) throw new KernelParamsError(`${where}: at least one model is needed, got ${count}`);
}

/** Per-model weights (default all 1), finite, one per model. */
export function resolveWeights(weights: readonly number[] | undefined, modelCount: number, where: string): number[] {
  if (weights === undefined) return new Array<number>(modelCount).fill(1);
  if (weights.length !== modelCount) {
    throw new KernelParamsError(`${where}: ${weights.length} weights for ${modelCount} models`);
  }
  for (const w of weights) if (!Number.isFinite(w)) throw new KernelParamsError(`${where}: weights must be finite, got ${w}`);
  return [...weights];
}

/** A scalar or per-model value, each checked by `ok`. */
export function resolvePerModel(
  value: number | readonly number[] | undefined,
  fallback: number,
  modelCount: number,
  ok: (v: number) => boolean,
  what: string,
  where: string,
): number[] {
  const values = value === undefined ? new Array<number>(modelCount).fill(fallback) : typeof value === 'number' ? new Array<number>(modelCount).fill(value) : [...value];
  if (values.length !== modelCount) throw new KernelParamsError(`${where}: ${values.length} ${what} values for ${modelCount} models`);
  for (const v of values) if (!ok(v)) throw new KernelParamsError(`${where}: invalid ${what} ${v}`);
  return values;
}

export function checkLambda(lambda: number, where: string): number {
  if (!Number.isFinite(lambda)) throw new KernelParamsError(`${where}: lambda must be finite, got ${lambda}`);
  return lambda;
}

/** The f32 factor applied to Σ w_i x_i: λ / Σ w (when normalising and |Σ w| ≥ ε) or λ. */
export function sumScale(weights: readonly number[], lambda: number, normalize: boolean): number {
  if (!normalize) return Math.fround(lambda);
  const total = weights.reduce((s, w) => s + w, 0);
  return Math.fround(Math.abs(total) < WEIGHT_SUM_EPSILON ? lambda : lambda / total);
}

/** Everything a DARE mask needs for model i: the RNG key (stream = model index), the keep threshold, the rescale. */
export interface DareModelMask {
  key0: number;
  key1: number;
  /** Keep element j when (randomU32 >>> 8) < threshold, i.e. randomUnit < density. */
  threshold: number;
  /** f32 factor on survivors: 1/density when rescaling, else 1. */
  scale: number;
}

export function dareMasks(densities: readonly number[], seed: number, rescale: boolean): DareModelMask[] {
  return densities.map((p, i) => {
    const [key0, key1] = rngKey(seed, i);
    return { key0, key1, threshold: probabilityThreshold(p), scale: rescale ? Math.fround(1 / p) : 1 };
  });
}

export function checkDareCounters(seed: number, offset: number, elementCount: number, where: string): void {
  if (!Number.isInteger(seed)) throw new KernelParamsError(`${where}: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + elementCount > DARE_MAX_COUNTER) {
    throw new KernelParamsError(`${where}: offset ${offset} + ${elementCount} elements must lie in [0, 2^32) (u32 counters)`);
  }
}

export const isDensity = (d: number): boolean => d >= 0 && d <= 1;
export const isKeepProbability = (p: number): boolean => p > 0 && p <= 1;

/** How TIES elects each element's sign: by the weighted sum of the deltas, or by a count of models. */
export type TiesVote = 'sum' | 'count';
