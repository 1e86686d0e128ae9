/**
 * Model stock (Jang et al. 2024, arXiv 2403.19522; mergekit `model_stock`), per tensor:
 * the CPU merge and the coefficient math the GPU twin (src/kernels/model-stock) shares.
 *
 * With base θ_0 and N ≥ 2 fine-tuned θ_i, task vectors τ_i = θ_i − θ_0 (flattened):
 *
 *   cos_ij = (τ_i·τ_j) / max(‖τ_i‖‖τ_j‖, 1e-6), clamped to [−1, 1]
 *   cos    = mean of cos_ij over the pairs i < j
 *   t      = N·cos / (1 + (N − 1)·cos)
 *   out    = t·mean_i(θ_i) + (1 − t)·θ_0
 *
 * Matched to mergekit (filter_wise = false, its default): one cos per tensor, the mean
 * of pairwise cosines (the paper assumes one common angle and does not say how to get
 * it from N > 2 models), the 1e-6 floor on the norm product (a τ of zero counts as
 * cos 0 with everything, not NaN), the clamp of each cos_ij, no clamp of t.
 * Not copied:
 * - mergekit's filter_wise (one cos per vector along the last axis) is modelStockFilterWise
 *   below, CPU only;
 * - sums are float64 (mergekit: the tensors' dtype, often bf16);
 * - t stays finite: the mean of pairwise cosines of N unit vectors is ≥ −1/(N − 1)
 *   (|Σ τ̂_i|² ≥ 0), so 1 + (N − 1)·cos ≥ 0, with 0 only when the τ̂_i cancel exactly;
 *   mergekit then divides by ~0. Here a denominator ≤ 1e-6 gives t = 0 (the base) and
 *   degenerate = true.
 * - clampT (off by default, as in mergekit) clamps t to [0, 1]: t < 0 happens whenever
 *   cos < 0 and pushes the merge from the models' mean past the base, away from them.
 * The merge is applied as N + 1 f32 scale-add passes, base first:
 * out = (1 − t)·θ_0; out += (t/N)·θ_i for each i — the same passes the GPU twin encodes.
 * Where WebAssembly SIMD is available (staged-merges/staged-merges.wasm.ts), the pairs'
 * statistics come from one pass over all task vectors (each ‖τ_i‖² summed once, in the
 * same order, so the same value every pair uses) and the passes run fused: the same bits.
 * Pure module: typed arrays in, typed arrays and plain objects out.
 */
import { stagedMerges, STAGED_MAX_MODELS } from '../staged-merges/staged-merges.wasm';
import { dotNormsWith, type DotNorms } from '../dot-norms/dot-norms.cpu';
import { scaleAddCpu, validateScaleAdd } from '../scale-add/scale-add.cpu';

/** Floor on ‖τ_i‖·‖τ_j‖ (mergekit's norm_product.clamp(min=1e-6)). */
export const MODEL_STOCK_NORM_EPS = 1e-6;
/** 1 + (N − 1)·cos at or below this is degenerate (exactly cancelling task vectors). */
export const MODEL_STOCK_MIN_DENOMINATOR = 1e-6;

export class ModelStockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelStockError';
  }
}

export interface ModelStockParams {
  /** Clamp t to [0, 1] (t ≤ 1 always; this removes t < 0). Default false, as mergekit. */
  clampT?: boolean;
  /** Default MODEL_STOCK_NORM_EPS. */
  normEps?: number;
}

export interface ModelStockCoefficients {
  modelCount: number;
  /** cos_ij in modelStockPairs order. */
  pairCosines: number[];
  /** Mean of pairCosines. */
  cosine: number;
  /** Interpolation from the base (0) to the models' mean (1). */
  t: number;
  /** out = weightBase·θ_0 + weightModel·Σ θ_i */
  weightBase: number;
  weightModel: number;
  /** The task vectors cancel exactly (1 + (N − 1)·cos ≈ 0): t was set to 0. */
  degenerate: boolean;
}

export function validateModelStockParams(params: ModelStockParams): void {
  const normEps = params.normEps ?? MODEL_STOCK_NORM_EPS;
  if (!(normEps >= 0 && Number.isFinite(normEps))) throw new ModelStockError(`model-stock.ts: normEps must be finite and ≥ 0, got ${normEps}`);
}

/** The pairs (i, j), i < j, in mergekit's loop order: (0,1), (0,2), …, (1,2), … */
export function modelStockPairs(modelCount: number): [number, number][] {
  if (!Number.isInteger(modelCount) || modelCount < 2) {
    throw new ModelStockError(`model-stock.ts: needs a base and at least 2 fine-tuned models, got ${modelCount} fine-tuned`);
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < modelCount; i++) for (let j = i + 1; j < modelCount; j++) pairs.push([i, j]);
  return pairs;
}

/**
 * Coefficients from the pairs' statistics of τ (x = τ_i, y = τ_j), given in
 * modelStockPairs(modelCount) order.
 */
export function modelStockCoefficients(pairStats: readonly DotNorms[], modelCount: number, params: ModelStockParams = {}): ModelStockCoefficients {
  const pairs = modelStockPairs(modelCount);
  validateModelStockParams(params);
  const normEps = params.normEps ?? MODEL_STOCK_NORM_EPS;
  if (pairStats.length !== pairs.length) {
    throw new ModelStockError(`model-stock.ts: ${modelCount} models need ${pairs.length} pair statistics, got ${pairStats.length}`);
  }
  const pairCosines = pairStats.map(({ dot, normSqX, normSqY }, p) => {
    if (!Number.isFinite(dot) || !Number.isFinite(normSqX) || !Number.isFinite(normSqY)) {
      const [i, j] = pairs[p]!;
      throw new ModelStockError(
        `model-stock.ts: task vectors ${i} and ${j} have non-finite dot/norms (${dot}, ${normSqX}, ${normSqY}): NaN or Inf in the weights, or an f32 overflow`,
      );
    }
    const normProduct = Math.max(Math.sqrt(normSqX) * Math.sqrt(normSqY), normEps);
    return Math.min(1, Math.max(-1, dot / normProduct));
  });
  const cosine = pairCosines.reduce((s, c) => s + c, 0) / pairCosines.length;
  const denominator = 1 + (modelCount - 1) * cosine;
  const degenerate = !(denominator > MODEL_STOCK_MIN_DENOMINATOR);
  let t = degenerate ? 0 : (modelCount * cosine) / denominator;
  if (params.clampT) t = Math.min(1, Math.max(0, t));
  return { modelCount, pairCosines, cosine, t, weightBase: 1 - t, weightModel: t / modelCount, degenerate };
}

export interface ModelStockResult {
  out: Float32Array;
  coefficients: ModelStockCoefficients;
}

/** Model stock of one tensor; out (optional) must not be the base or a model. */
export function modelStock(
  base: Float32Array,
  models: readonly Float32Array[],
  params: ModelStockParams = {},
  out?: Float32Array,
): ModelStockResult {
  return modelStockWith(base, models, params, out, true);
}

/** modelStock; useWasm false keeps every loop in TypeScript (the tests compare both paths). */
export function modelStockWith(
  base: Float32Array,
  models: readonly Float32Array[],
  params: ModelStockParams,
  out: Float32Array | undefined,
  useWasm: boolean,
): ModelStockResult {
  const pairs = modelStockPairs(models.length);
  validateModelStockParams(params);
  const n = base.length;
  for (const [i, m] of models.entries()) {
    if (m.length !== n) throw new ModelStockError(`model-stock.ts: model ${i} holds ${m.length} floats, the base ${n}`);
  }
  const target = out ?? new Float32Array(n);
  if (target.length !== n) throw new ModelStockError(`model-stock.ts: out holds ${target.length} floats, expected ${n}`);
  if (target === base || models.includes(target)) throw new ModelStockError('model-stock.ts: out must be a different array from the base and the models');
  const staged = useWasm && models.length <= STAGED_MAX_MODELS ? stagedMerges(n) : null;
  if (!staged) {
    const stats = pairs.map(([i, j]) => dotNormsWith(models[i]!, models[j]!, base, useWasm));
    const coefficients = modelStockCoefficients(stats, models.length, params);
    scaleAddCpu(target, base, 0, coefficients.weightBase);
    for (const m of models) scaleAddCpu(target, m, 1, coefficients.weightModel);
    return { out: target, coefficients };
  }
  // [‖τ_0‖², …, ‖τ_{N−1}‖², then τ_i·τ_j in modelStockPairs order].
  const sums = staged.taskVectorStats(models, base);
  const stats = pairs.map(([i, j], p) => ({ dot: sums[models.length + p]!, normSqX: sums[i]!, normSqY: sums[j]! }));
  const coefficients = modelStockCoefficients(stats, models.length, params);
  validateScaleAdd(0, coefficients.weightBase);
  validateScaleAdd(1, coefficients.weightModel);
  const weightModel = Math.fround(coefficients.weightModel);
  staged.weightedSum(target, [base, ...models], [Math.fround(coefficients.weightBase), ...models.map(() => weightModel)]);
  return { out: target, coefficients };
}

/**
 * mergekit's filter_wise model stock: one t per filter, i.e. per vector along the tensor's
 * last axis (rowLength elements; a 1-D tensor is one row), each merged as modelStock does.
 */
export function modelStockFilterWise(base: Float32Array, models: readonly Float32Array[], rowLength: number, out: Float32Array, params: ModelStockParams = {}): void {
  const n = base.length;
  if (!Number.isInteger(rowLength) || rowLength < 1 || n % rowLength !== 0) throw new ModelStockError(`model-stock.ts: rows of ${rowLength} do not tile ${n} floats`);
  for (let start = 0; start < n; start += rowLength) {
    const row = (a: Float32Array) => a.subarray(start, start + rowLength);
    modelStock(row(base), models.map(row), params, row(out));
  }
}
