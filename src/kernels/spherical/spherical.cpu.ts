/**
 * Spherical merges of N tensors (mergekit `nuslerp` flattened, `multislerp`, `karcher`),
 * CPU twin of the GPU path in index.ts. Each tensor is one flat vector x̃_i (θ_i, or the
 * task vector θ_i − base when a base is given).
 *
 * Every step of these algorithms (normalising, weighted means, tangent projections, the
 * exponential map, Karcher's fixed-point iteration) builds a linear combination of the
 * inputs with scalars that depend only on inner products. So the merge is computed in two
 * parts that never touch a weight twice:
 *   1. the Gram matrix G_ij = x̃_i·x̃_j (dot-norms, f64 here, an f32 tree on the GPU);
 *   2. the algorithm run on coefficient vectors c (a vector is Σ c_i x̃_i, a·b = aᵀGb) in
 *      f64 on the host, giving out = Σ c_i x̃_i (+ base);
 * and the combination is applied in f32 as the GPU records it: without a base as scale-add
 * passes, out = Σ c_i θ_i; with one on the task vectors, out = base + Σ c_i·(θ_i − base)
 * (task arithmetic's passes with weights c_i). Not Σ c_i θ_i + (1 − Σ c_i)·base: c_i grows
 * as 1/‖θ_i − base‖, and that form cancels terms of the weights' size, not of the task
 * vectors' (a task vector 100× smaller than the other lost ~4 digits, and a zero one, whose
 * unit carries 1/eps, all of them). Exact in exact arithmetic; mergekit does the same
 * algebra on the full tensors in the tensors' dtype.
 * Pure module: typed arrays in, typed arrays and numbers out.
 */
import { dotNormsCpu } from '../dot-norms/dot-norms.cpu';
import { KernelParamsError } from '../errors';
import { scaleAddCpu } from '../scale-add/scale-add.cpu';
import { taskArithmeticMerge } from '../task-vector/task-arithmetic.cpu';

/** N×N inner products, row-major, symmetric. */
export type Gram = Float64Array;

/** G_ij = (x_i − base)·(x_j − base) (or x_i·x_j without a base), f64. */
export function gramCpu(models: readonly Float32Array[], base: Float32Array | null): Gram {
  const n = models.length;
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const s = dotNormsCpu(models[i]!, models[j]!, base);
      g[i * n + j] = s.dot;
      g[j * n + i] = s.dot;
      if (i === j) g[i * n + i] = s.normSqX;
    }
  }
  return g;
}

/** Builds the Gram matrix from pairwise (dot, ‖x‖², ‖y‖²) in pair order (0,1), (0,2), …, (1,2), … (N = 1: [‖x‖²]). */
export function gramFromPairs(n: number, pairs: readonly { dot: number; normSqX: number; normSqY: number }[]): Gram {
  const g = new Float64Array(n * n);
  if (n === 1) {
    g[0] = pairs[0]!.normSqX;
    return g;
  }
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = pairs[p++]!;
      g[i * n + j] = s.dot;
      g[j * n + i] = s.dot;
      g[i * n + i] = s.normSqX;
      g[j * n + j] = s.normSqY;
    }
  }
  return g;
}

/** The index pairs gramFromPairs expects ([0, 0] alone for one model). */
export function gramPairs(n: number): [number, number][] {
  if (n === 1) return [[0, 0]];
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push([i, j]);
  return out;
}

const inner = (g: Gram, a: Float64Array, b: Float64Array): number => {
  const n = a.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] === 0) continue;
    let row = 0;
    for (let j = 0; j < n; j++) row += g[i * n + j]! * b[j]!;
    s += a[i]! * row;
  }
  return s;
};
const norm = (g: Gram, a: Float64Array): number => Math.sqrt(Math.max(0, inner(g, a, a)));
const unitVector = (n: number, i: number, scale: number): Float64Array => {
  const c = new Float64Array(n);
  c[i] = scale;
  return c;
};
/** a + s·b into a new vector. */
const axpy = (a: Float64Array, s: number, b: Float64Array): Float64Array => a.map((v, i) => v + s * b[i]!);
const scaled = (a: Float64Array, s: number): Float64Array => a.map((v) => v * s);

/**
 * |sin θ| below this counts as colinear and lerps (mergekit: 1e-8). An f32 Gram (the GPU's)
 * knows cos θ to ~1e-7, so sin θ under ~5e-4 is rounding noise there; anti-parallel tensors
 * (every one-element tensor of opposite signs) would otherwise get coefficients ~1/noise.
 * Below 1e-3 slerp and lerp differ by < 1e-6 relative anyway.
 */
export const NUSLERP_COLINEAR_SIN = 1e-3;

export interface NuslerpParams {
  /** mergekit's per-model `weight` of the two models; t = w₁ / (w₀ + w₁) (0.5 when |Σ| < 1e-6). */
  weights?: readonly number[];
}

/** mergekit nuslerp(t, v0, v1, flatten=True): coefficients over (x̃₀, x̃₁). */
export function nuslerpCoefficients(g: Gram, params: NuslerpParams = {}): number[] {
  if (g.length !== 4) throw new KernelParamsError('spherical.cpu.ts: nuslerp merges exactly two models');
  const [w0, w1] = params.weights ?? [1, 1];
  if (!Number.isFinite(w0) || !Number.isFinite(w1)) throw new KernelParamsError(`spherical.cpu.ts: nuslerp weights must be finite, got ${w0}, ${w1}`);
  const sum = w0! + w1!;
  const t = Math.abs(sum) < 1e-6 ? 0.5 : w1! / sum;
  // _normalize: x / max(‖x‖, 1e-7)
  const n0 = Math.max(Math.sqrt(Math.max(0, g[0]!)), 1e-7);
  const n1 = Math.max(Math.sqrt(Math.max(0, g[3]!)), 1e-7);
  const cos = g[1]! / (n0 * n1);
  const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
  const sin = Math.sin(theta);
  if (Math.abs(sin) < NUSLERP_COLINEAR_SIN) return [1 - t, t];
  return [Math.sin((1 - t) * theta) / sin, Math.sin(t * theta) / sin];
}

export interface MultislerpParams {
  /** Per-model weights, default all 1. */
  weights?: readonly number[];
  /** Divide the weights by their sum (mergekit's normalize_weights, default true). */
  normalizeWeights?: boolean;
  /** mergekit's eps (default 1e-8). */
  eps?: number;
}

/** mergekit multislerp: barycentric interpolation on the hypersphere, scaled by the weighted mean norm. */
export function multislerpCoefficients(g: Gram, modelCount: number, params: MultislerpParams = {}): number[] {
  const n = modelCount;
  if (n === 1) return [1];
  const eps = params.eps ?? 1e-8;
  let w = [...(params.weights ?? new Array<number>(n).fill(1))];
  if (w.length !== n || w.some((x) => !Number.isFinite(x))) throw new KernelParamsError(`spherical.cpu.ts: multislerp needs ${n} finite weights`);
  if (params.normalizeWeights ?? true) {
    const s = w.reduce((a, b) => a + b, 0);
    if (s === 0) throw new KernelParamsError('spherical.cpu.ts: multislerp weights sum to zero and cannot be normalised');
    w = w.map((x) => x / s);
  }
  const norms = Array.from({ length: n }, (_, i) => Math.sqrt(Math.max(0, g[i * n + i]!)));
  const units = norms.map((nm, i) => unitVector(n, i, 1 / (nm + eps)));
  let mean: Float64Array = new Float64Array(n);
  units.forEach((u, i) => (mean = axpy(mean, w[i]!, u)));
  const meanNorm = norm(g, mean);
  if (meanNorm < eps) {
    if (n === 2) return [w[0]!, w[1]!];
    throw new KernelParamsError(
      'spherical.cpu.ts: the weighted sum of the unit tensors is zero (antipodal tensors with balancing weights); try other weights',
    );
  }
  mean = scaled(mean, 1 / meanNorm);
  let tangent: Float64Array = new Float64Array(n);
  units.forEach((u, i) => {
    const t = axpy(u, -inner(g, u, mean), mean);
    tangent = axpy(tangent, w[i]!, t);
  });
  const tn = norm(g, tangent) + eps;
  const result = axpy(scaled(mean, Math.cos(tn)), Math.sin(tn) / tn, tangent);
  const avgNorm = norms.reduce((s, nm, i) => s + nm * w[i]!, 0);
  return Array.from(scaled(result, avgNorm));
}

export interface KarcherParams {
  /** mergekit's max_iter (default 10). */
  maxIter?: number;
  /** mergekit's tol (default 1e-5). */
  tol?: number;
}

/** mergekit karcher_merge_tensors with equal weights 1/N: the Riemannian mean direction, scaled by the mean norm. */
export function karcherCoefficients(g: Gram, modelCount: number, params: KarcherParams = {}): number[] {
  const n = modelCount;
  if (n === 1) return [1];
  const maxIter = params.maxIter ?? 10;
  const tol = params.tol ?? 1e-5;
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new KernelParamsError(`spherical.cpu.ts: max_iter must be a non-negative integer, got ${maxIter}`);
  if (!(tol >= 0)) throw new KernelParamsError(`spherical.cpu.ts: tol must be ≥ 0, got ${tol}`);
  const alphas = new Array<number>(n).fill(1 / n);
  const norms = Array.from({ length: n }, (_, i) => Math.sqrt(Math.max(0, g[i * n + i]!)));
  const units = norms.map((nm, i) => unitVector(n, i, nm === 0 ? 0 : 1 / nm));
  const valid = norms.map((nm, i) => (nm > tol ? i : -1)).filter((i) => i >= 0);
  if (valid.length === 0) return new Array<number>(n).fill(0);
  const alphaSum = valid.reduce((s, i) => s + alphas[i]!, 0);
  const a = valid.map((i) => alphas[i]! / alphaSum);
  const us = valid.map((i) => units[i]!);
  let u: Float64Array = new Float64Array(n);
  us.forEach((ui, k) => (u = axpy(u, a[k]!, ui)));
  const normU = norm(g, u);
  u = normU < tol ? Float64Array.from(us[0]!) : scaled(u, 1 / normU);
  for (let iter = 0; iter < maxIter; iter++) {
    let t: Float64Array = new Float64Array(n);
    us.forEach((ui, k) => {
      const dot = Math.min(1, Math.max(-1, inner(g, u, ui)));
      const theta = Math.acos(dot);
      if (theta < tol) return;
      t = axpy(t, a[k]! * (theta / Math.sin(theta)), axpy(ui, -dot, u));
    });
    const normT = norm(g, t);
    if (normT < tol) break;
    u = axpy(scaled(u, Math.cos(normT)), Math.sin(normT) / normT, t);
    const uNorm = norm(g, u);
    if (uNorm > tol) u = scaled(u, 1 / uNorm);
  }
  const s = alphas.reduce((acc, al, i) => acc + al * norms[i]!, 0);
  return Array.from(scaled(u, s));
}

/** The coefficients, checked finite: weights on θ_i (no base) or on θ_i − base (with one). */
export function combinationWeights(coefficients: readonly number[]): number[] {
  for (const c of coefficients) if (!Number.isFinite(c)) throw new KernelParamsError(`spherical.cpu.ts: a merge coefficient is not finite (${c})`);
  return [...coefficients];
}

/** out = Σ c_i θ_i as f32 scale-add passes, or with a base out = base + Σ c_i·(θ_i − base) as task arithmetic's (the GPU's order). */
export function combineCpu(models: readonly Float32Array[], base: Float32Array | null, out: Float32Array, coefficients: readonly number[]): void {
  const c = combinationWeights(coefficients);
  if (base) taskArithmeticMerge(models, base, out, { weights: c, lambda: 1, normalize: false });
  else models.forEach((m, i) => scaleAddCpu(out, m, i === 0 ? 0 : 1, c[i]!));
}

export function checkSpherical(models: readonly Float32Array[], base: Float32Array | null, out: Float32Array, where: string): void {
  if (models.length < 1) throw new KernelParamsError(`${where}: at least one model is needed`);
  for (const m of [...models, ...(base ? [base] : [])]) {
    if (m.length !== out.length) throw new KernelParamsError(`${where}: tensor lengths differ (${m.length} vs out ${out.length})`);
    if (m === out) throw new KernelParamsError(`${where}: out must be a different array from the inputs`);
  }
}

export function nuslerpMerge(models: readonly Float32Array[], base: Float32Array | null, out: Float32Array, params: NuslerpParams = {}): number[] {
  checkSpherical(models, base, out, 'spherical.cpu.ts (nuslerp)');
  if (models.length !== 2) throw new KernelParamsError(`spherical.cpu.ts: nuslerp merges exactly two models, got ${models.length}`);
  const c = nuslerpCoefficients(gramCpu(models, base), params);
  combineCpu(models, base, out, c);
  return c;
}

export function multislerpMerge(models: readonly Float32Array[], base: Float32Array | null, out: Float32Array, params: MultislerpParams = {}): number[] {
  checkSpherical(models, base, out, 'spherical.cpu.ts (multislerp)');
  const c = multislerpCoefficients(gramCpu(models, base), models.length, params);
  combineCpu(models, base, out, c);
  return c;
}

export function karcherMerge(models: readonly Float32Array[], out: Float32Array, params: KarcherParams = {}): number[] {
  checkSpherical(models, null, out, 'spherical.cpu.ts (karcher)');
  const c = karcherCoefficients(gramCpu(models, null), models.length, params);
  combineCpu(models, null, out, c);
  return c;
}
