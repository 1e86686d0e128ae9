import { describe, expect, it } from 'vitest';
import { regmeanMerge, RegMeanError } from './regmean.cpu';
import { choleskySolve } from '../../linalg/cholesky';
import { mulberry32, randomFloats } from '../../testing/seeded';

/** rows×cols float64, uniform in [-1, 1), columns scaled by `colScale`. */
function randomData(rows: number, cols: number, seed: number, colScale: number[] = []): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: rows * cols }, (_, k) => (r() * 2 - 1) * (colScale[k % cols] ?? 1));
}

/** XᵀX / rows. */
function gramOf(X: Float64Array, rows: number, n: number): Float64Array {
  const G = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] += X[r * n + i]! * X[r * n + j]!;
  return G.map((v) => v / rows);
}

/** Aᵀ·B for A (rows×n), B (rows×m). */
function crossOf(A: Float64Array, B: Float64Array, rows: number, n: number, m: number): Float64Array {
  const C = new Float64Array(n * m);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) C[i * m + j] += A[r * n + i]! * B[r * m + j]!;
  return C;
}

function matmul(A: Float64Array, B: Float64Array, n: number, k: number, m: number): Float64Array {
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) C[i * m + j] += A[i * k + p]! * B[p * m + j]!;
  return C;
}

function transpose(w: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

function average(ws: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(ws[0]!.length);
  for (const w of ws) for (let k = 0; k < out.length; k++) out[k] += w[k]! / ws.length;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/**
 * Two "models", each the least-squares fit of y = x·W on its own data; all targets come
 * from one true W* plus noise, and the two datasets stress different input features.
 */
function regressionToy(inDim: number, outDim: number, rows: number) {
  const wTrue = randomData(inDim, outDim, 900);
  const scales = [
    Array.from({ length: inDim }, (_, k) => (k < inDim / 2 ? 3 : 0.2)),
    Array.from({ length: inDim }, (_, k) => (k < inDim / 2 ? 0.2 : 3)),
  ];
  const data = scales.map((s, m) => {
    const X = randomData(rows, inDim, 910 + m, s);
    const noise = randomData(rows, outDim, 920 + m).map((v) => 0.3 * v);
    const Y = matmul(X, wTrue, rows, inDim, outDim).map((v, k) => v + noise[k]!);
    const G = gramOf(X, rows, inDim);
    const W = choleskySolve(
      G,
      crossOf(X, Y, rows, inDim, outDim).map((v) => v / rows),
      inDim,
      outDim,
    ).X;
    return { X, Y, G, W: Float32Array.from(W) };
  });
  // Joint least squares over both datasets (equal row counts, so per-model means weigh equally).
  const Gj = data[0]!.G.map((v, k) => v + data[1]!.G[k]!);
  const XtY = crossOf(data[0]!.X, data[0]!.Y, rows, inDim, outDim).map(
    (v, k) => (v + crossOf(data[1]!.X, data[1]!.Y, rows, inDim, outDim)[k]!) / rows,
  );
  const joint = choleskySolve(Gj, XtY, inDim, outDim).X;
  return { data, joint, wTrue };
}

describe('regmeanMerge', () => {
  it('equals the plain average when every model has the same Gram matrix (any alpha, both layouts)', () => {
    const inDim = 7;
    const outDim = 5;
    const G = gramOf(randomData(30, inDim, 1), 30, inDim);
    const ws = [0, 1, 2].map((i) => randomFloats(inDim * outDim, 10 + i));
    for (const alpha of [1, 0.9, 0.3, 0]) {
      const { merged, ridge } = regmeanMerge(ws, [G, G, G], 'in-out', inDim, outDim, alpha);
      expect(ridge).toBe(0);
      expect(maxAbsDiff(merged, average(ws))).toBeLessThan(1e-5);
      const t = ws.map((w) => transpose(w, inDim, outDim));
      expect(maxAbsDiff(regmeanMerge(t, [G, G, G], 'out-in', inDim, outDim, alpha).merged, average(t))).toBeLessThan(1e-5);
    }
  });

  it('is exact on linear regression: merging per-dataset fits gives the joint least-squares fit (alpha = 1)', () => {
    const inDim = 6;
    const outDim = 3;
    const { data, joint, wTrue } = regressionToy(inDim, outDim, 60);
    const { merged, ridge } = regmeanMerge(
      data.map((d) => d.W),
      data.map((d) => d.G),
      'in-out',
      inDim,
      outDim,
      1,
    );
    expect(ridge).toBe(0);
    expect(maxAbsDiff(merged, joint)).toBeLessThan(1e-5);
    // The toy is not trivial: the plain average is far from the joint fit, and the joint fit beats it on W*.
    const avg = average(data.map((d) => d.W));
    expect(maxAbsDiff(avg, joint)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(merged, wTrue)).toBeLessThan(maxAbsDiff(avg, wTrue));
  });

  it('alpha < 1 moves away from the exact solution; alpha = 0 is a per-input-feature weighted average', () => {
    const inDim = 6;
    const outDim = 3;
    const { data, joint } = regressionToy(inDim, outDim, 60);
    const ws = data.map((d) => d.W);
    const gs = data.map((d) => d.G);
    const errorAt = (alpha: number) => maxAbsDiff(regmeanMerge(ws, gs, 'in-out', inDim, outDim, alpha).merged, joint);
    expect(errorAt(1)).toBeLessThan(1e-5);
    expect(errorAt(0.5)).toBeGreaterThan(1e-3);
    expect(errorAt(0)).toBeGreaterThan(errorAt(0.9));

    const zero = regmeanMerge(ws, gs, 'in-out', inDim, outDim, 0).merged;
    const expected = new Float32Array(inDim * outDim);
    for (let p = 0; p < inDim; p++) {
      const d0 = gs[0]![p * inDim + p]!;
      const d1 = gs[1]![p * inDim + p]!;
      for (let c = 0; c < outDim; c++) expected[p * outDim + c] = (d0 * ws[0]![p * outDim + c]! + d1 * ws[1]![p * outDim + c]!) / (d0 + d1);
    }
    expect(maxAbsDiff(zero, expected)).toBeLessThan(1e-6);
  });

  it('both layouts give the same merged matrix, transposed', () => {
    const inDim = 9;
    const outDim = 4;
    const gs = [0, 1, 2].map((i) => gramOf(randomData(25, inDim, 40 + i, [1, 2, 0.5]), 25, inDim));
    const ws = [0, 1, 2].map((i) => randomFloats(inDim * outDim, 50 + i));
    const a = regmeanMerge(ws, gs, 'in-out', inDim, outDim, 0.7).merged;
    const b = regmeanMerge(
      ws.map((w) => transpose(w, inDim, outDim)),
      gs,
      'out-in',
      inDim,
      outDim,
      0.7,
    ).merged;
    expect(maxAbsDiff(b, transpose(a, inDim, outDim))).toBeLessThan(1e-6);
    expect(maxAbsDiff(a, average(ws))).toBeGreaterThan(1e-2);
  });

  it('an input feature no model ever sees gets a ridge and falls back to the plain average for that row', () => {
    const inDim = 5;
    const outDim = 3;
    const dead = 2;
    const gs = [0, 1].map((i) => {
      const X = randomData(20, inDim, 60 + i);
      for (let r = 0; r < 20; r++) X[r * inDim + dead] = 0;
      return gramOf(X, 20, inDim);
    });
    const ws = [0, 1].map((i) => randomFloats(inDim * outDim, 70 + i));
    const { merged, ridge } = regmeanMerge(ws, gs, 'in-out', inDim, outDim, 1);
    expect(ridge).toBeGreaterThan(0);
    expect(merged.every(Number.isFinite)).toBe(true);
    const avg = average(ws);
    for (let c = 0; c < outDim; c++) expect(merged[dead * outDim + c]).toBeCloseTo(avg[dead * outDim + c]!, 5);
    // The live rows still solve the regular system restricted to the live features.
    expect(maxAbsDiff(merged, avg)).toBeGreaterThan(1e-2);
  });

  it('rejects mismatched inputs with RegMeanError', () => {
    const G = new Float64Array([1, 0, 0, 1]);
    const w = new Float32Array(4);
    expect(() => regmeanMerge([], [], 'in-out', 2, 2, 1)).toThrow(RegMeanError);
    expect(() => regmeanMerge([w], [G, G], 'in-out', 2, 2, 1)).toThrow(/1 weights but 2 Gram/);
    expect(() => regmeanMerge([new Float32Array(3)], [G], 'in-out', 2, 2, 1)).toThrow(/weight 0 has 3 values/);
    expect(() => regmeanMerge([w], [new Float64Array(3)], 'in-out', 2, 2, 1)).toThrow(/Gram matrix 0/);
    expect(() => regmeanMerge([w], [G], 'in-out', 2, 2, 1.5)).toThrow(/alpha/);
    expect(() => regmeanMerge([w], [G], 'in-out', 2, 2, NaN)).toThrow(/alpha/);
  });
});
