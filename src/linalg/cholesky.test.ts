import { describe, expect, it } from 'vitest';
import { choleskySolve, LinalgError, RIDGE_LADDER } from './cholesky';
import { mulberry32 } from '../testing/seeded';

/** rows×cols matrix of uniform values in [-1, 1). */
function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: rows * cols }, () => r() * 2 - 1);
}

/** C = Aᵀ·A for A (rows×n). */
function gram(A: Float64Array, rows: number, n: number): Float64Array {
  const G = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) {
      const a = A[r * n + i]!;
      for (let j = 0; j < n; j++) G[i * n + j] += a * A[r * n + j]!;
    }
  }
  return G;
}

function matmul(A: Float64Array, B: Float64Array, n: number, k: number, m: number): Float64Array {
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) C[i * m + j] += A[i * k + p]! * B[p * m + j]!;
  return C;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('choleskySolve', () => {
  it.each([
    [1, 1, 11],
    [5, 3, 12],
    [24, 7, 13],
    [48, 48, 14],
  ])('recovers the known solution of a random SPD system (n=%i, m=%i)', (n, m, seed) => {
    // Well conditioned: AᵀA from 2n rows plus a small diagonal.
    const A = gram(randomMatrix(2 * n, n, seed), 2 * n, n);
    for (let i = 0; i < n; i++) A[i * n + i] += 0.1;
    const Xtrue = randomMatrix(n, m, seed + 100);
    const B = matmul(A, Xtrue, n, n, m);
    const { X, ridge, diagonalShift } = choleskySolve(A, B, n, m);
    expect(ridge).toBe(0);
    expect(diagonalShift).toBe(0);
    expect(maxAbsDiff(X, Xtrue)).toBeLessThan(1e-9);
  });

  it('reads only the lower triangle', () => {
    const n = 6;
    const A = gram(randomMatrix(12, n, 5), 12, n);
    const Xtrue = randomMatrix(n, 2, 6);
    const B = matmul(A, Xtrue, n, n, 2);
    const garbled = A.slice();
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) garbled[i * n + j] = 1e6 * (i + j);
    expect(maxAbsDiff(choleskySolve(garbled, B, n, 2).X, Xtrue)).toBeLessThan(1e-9);
  });

  it('does not modify its inputs', () => {
    const n = 4;
    const A = gram(randomMatrix(8, n, 7), 8, n);
    const B = randomMatrix(n, 3, 8);
    const a0 = A.slice();
    const b0 = B.slice();
    choleskySolve(A, B, n, 3);
    expect(A).toEqual(a0);
    expect(B).toEqual(b0);
  });

  it('adds a ridge to a singular matrix and still returns finite values that solve the ridged system', () => {
    // Rank 3 in 8 dimensions: fewer samples than features, as in a Gram matrix of few tokens.
    const n = 8;
    const A = gram(randomMatrix(3, n, 21), 3, n);
    const B = randomMatrix(n, 4, 22);
    const { X, ridge, diagonalShift } = choleskySolve(A, B, n, 4);
    expect(ridge).toBeGreaterThan(0);
    expect(RIDGE_LADDER).toContain(ridge);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += A[i * n + i]!;
    expect(diagonalShift).toBeCloseTo((ridge * trace) / n, 15);
    expect(X.every(Number.isFinite)).toBe(true);
    // X solves (A + shift·I)·X = B.
    const ridged = A.slice();
    for (let i = 0; i < n; i++) ridged[i * n + i] += diagonalShift;
    const residual = maxAbsDiff(matmul(ridged, X, n, n, 4), B);
    expect(residual).toBeLessThan(1e-6 * Math.max(1, ...Array.from(X, Math.abs)));
  });

  it('a zero matrix gets a ridge on a unit scale', () => {
    const n = 3;
    const { X, ridge, diagonalShift } = choleskySolve(new Float64Array(n * n), Float64Array.from([1, 2, 3]), n, 1);
    expect(ridge).toBeGreaterThan(0);
    expect(diagonalShift).toBe(ridge);
    expect(Array.from(X)).toEqual([1 / ridge, 2 / ridge, 3 / ridge]);
  });

  it('a consistent singular system keeps its exact part: ridge solution ≈ minimum-norm solution', () => {
    // A = diag(4, 0): x0 is determined, x1 is free; the ridge drives x1 to 0.
    const { X, ridge } = choleskySolve(Float64Array.from([4, 0, 0, 0]), Float64Array.from([8, 0]), 2, 1);
    expect(ridge).toBe(1e-8);
    expect(X[0]).toBeCloseTo(2, 6);
    expect(X[1]).toBe(0);
  });

  it('throws LinalgError on an indefinite matrix, bad shapes and NaN', () => {
    expect(() => choleskySolve(Float64Array.from([1, 0, 0, -1e6]), Float64Array.from([1, 1]), 2, 1)).toThrow(LinalgError);
    expect(() => choleskySolve(new Float64Array(3), new Float64Array(2), 2, 1)).toThrow(/A has 3 entries/);
    expect(() => choleskySolve(Float64Array.from([1, 0, 0, NaN]), Float64Array.from([1, 1]), 2, 1)).toThrow(/non-finite/);
    try {
      choleskySolve(Float64Array.from([1, 0, 0, -1e6]), Float64Array.from([1, 1]), 2, 1);
    } catch (e) {
      expect((e as Error).name).toBe('LinalgError');
      expect((e as Error).message).toMatch(/^choleskySolve: /);
    }
  });
});
