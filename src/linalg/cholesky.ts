// Solves A·X = B for a symmetric positive (semi-)definite A by Cholesky, in float64.
// RegMean's normal equations (Σ Gram matrices) are often singular or nearly so: a
// hidden unit that never fires, fewer tokens than input features, a constant input
// column. Instead of inverting directly (what the reference code does), we try a
// plain Cholesky and, when a pivot is not safely positive, retry with a ridge
// λ·mean(diag(A))·I for growing λ, and report the λ that was needed.
// Pure logic: typed arrays in, typed arrays out; no imports.

export class LinalgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinalgError';
  }
}

export interface CholeskySolveResult {
  /** Solution, n×m row-major. */
  X: Float64Array;
  /** Relative ridge λ that made the factorisation succeed (0: none was needed). */
  ridge: number;
  /** Absolute amount added to every diagonal entry: λ·mean(diag(A)) (0 when ridge is 0). */
  diagonalShift: number;
}

/** Ridges tried in order after a plain factorisation fails, relative to mean(diag(A)). */
export const RIDGE_LADDER: readonly number[] = [1e-8, 1e-6, 1e-4, 1e-2, 1, 100];

/**
 * In-place lower Cholesky factor of A + shift·I into L (n×n row-major, upper part
 * left as zeros). Returns false when a pivot falls at or below `tol`: the matrix is
 * not numerically positive definite, and a solve through it would amplify rounding
 * noise without bound.
 */
function factor(A: Float64Array, n: number, shift: number, tol: number, L: Float64Array): boolean {
  L.fill(0);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = A[rj + j]! + shift;
    for (let k = 0; k < j; k++) d -= L[rj + k]! * L[rj + k]!;
    if (!(d > tol)) return false;
    const ljj = Math.sqrt(d);
    L[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = A[ri + j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      L[ri + j] = s * inv;
    }
  }
  return true;
}

/** Forward then backward substitution with L·Lᵀ, all m right-hand sides at once. */
function substitute(L: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const Y = new Float64Array(B);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const yi = i * m;
    for (let k = 0; k < i; k++) {
      const l = L[ri + k]!;
      if (l === 0) continue;
      const yk = k * m;
      for (let c = 0; c < m; c++) Y[yi + c] -= l * Y[yk + c]!;
    }
    const inv = 1 / L[ri + i]!;
    for (let c = 0; c < m; c++) Y[yi + c] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const yi = i * m;
    for (let k = i + 1; k < n; k++) {
      const l = L[k * n + i]!;
      if (l === 0) continue;
      const yk = k * m;
      for (let c = 0; c < m; c++) Y[yi + c] -= l * Y[yk + c]!;
    }
    const inv = 1 / L[i * n + i]!;
    for (let c = 0; c < m; c++) Y[yi + c] *= inv;
  }
  return Y;
}

/**
 * X = A⁻¹·B for symmetric A (n×n) and B (n×m), both row-major float64. Only the lower
 * triangle of A is read. Throws LinalgError on bad shapes, non-finite input, or when
 * even the largest ridge in RIDGE_LADDER does not make A positive definite (A is then
 * far from positive semi-definite, not merely singular).
 */
export function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): CholeskySolveResult {
  if (!Number.isSafeInteger(n) || n <= 0 || !Number.isSafeInteger(m) || m <= 0) {
    throw new LinalgError(`choleskySolve: bad sizes n=${n}, m=${m}`);
  }
  if (A.length !== n * n) throw new LinalgError(`choleskySolve: A has ${A.length} entries, expected ${n}×${n}`);
  if (B.length !== n * m) throw new LinalgError(`choleskySolve: B has ${B.length} entries, expected ${n}×${m}`);
  let diagSum = 0;
  let diagMax = 0;
  for (let i = 0; i < n; i++) {
    const d = A[i * n + i]!;
    diagSum += d;
    diagMax = Math.max(diagMax, Math.abs(d));
  }
  for (let i = 0; i < A.length; i++) {
    if (!Number.isFinite(A[i]!)) throw new LinalgError(`choleskySolve: A has a non-finite entry at (${Math.floor(i / n)}, ${i % n})`);
  }
  for (let i = 0; i < B.length; i++) {
    if (!Number.isFinite(B[i]!)) throw new LinalgError(`choleskySolve: B has a non-finite entry at (${Math.floor(i / m)}, ${i % m})`);
  }
  // A zero (or negative-trace) matrix gives a zero ridge scale; fall back to 1 so the ladder still moves.
  const scale = diagSum > 0 ? diagSum / n : 1;
  // Pivots below this are rounding noise of the largest diagonal entry, not information.
  const tol = n * Number.EPSILON * Math.max(diagMax, Number.MIN_VALUE);
  const L = new Float64Array(n * n);
  if (factor(A, n, 0, tol, L)) return { X: substitute(L, B, n, m), ridge: 0, diagonalShift: 0 };
  for (const lambda of RIDGE_LADDER) {
    const shift = lambda * scale;
    if (factor(A, n, shift, tol, L)) return { X: substitute(L, B, n, m), ridge: lambda, diagonalShift: shift };
  }
  throw new LinalgError(
    `choleskySolve: the ${n}×${n} matrix is not positive definite even with a ridge of ${RIDGE_LADDER[RIDGE_LADDER.length - 1]}·mean(diag)`,
  );
}
