/**
 * RegMean as a linear operator: with fixed Gram matrices, merged = S⁻¹ Σ_i G̃_i·W_i
 * = Σ_i A_i·W_i, A_i = S⁻¹·G̃_i, S = Σ_i G̃_i, G̃ = α·G + (1 − α)·diag(G)
 * (src/engine/methods/regmean.ts). The A_i are solved once on the CPU in f64 (one
 * Cholesky of S for all models at once) and handed to the GPU as f32, so every
 * offspring that reuses the Grams costs N operator passes, no solve.
 * Unlike regmeanMerge, which solves for the offset from the plain average, this form
 * sends directions that need a ridge towards zero, not the average: the two agree only
 * when ridge is 0; callers should fall back to regmeanMerge otherwise.
 * Pure module.
 */
import { choleskySolve } from '../../linalg/cholesky';
import { KernelParamsError } from '../errors';

export interface RegMeanOperators {
  /** A_i, [in, in] row-major f32, one per Gram matrix. */
  operators: Float32Array[];
  /** Relative ridge the solve of S needed (0: none); see src/linalg/cholesky.ts. */
  ridge: number;
}

export function regmeanOperators(grams: readonly Float64Array[], inDim: number, alpha: number): RegMeanOperators {
  const n = grams.length;
  if (n === 0) throw new KernelParamsError('regmean-operators.ts: no Gram matrices');
  if (!Number.isSafeInteger(inDim) || inDim <= 0) throw new KernelParamsError(`regmean-operators.ts: bad input size ${inDim}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new KernelParamsError(`regmean-operators.ts: alpha must lie in [0, 1], got ${alpha}`);
  const nn = inDim * inDim;
  for (const [i, G] of grams.entries()) {
    if (G.length !== nn) throw new KernelParamsError(`regmean-operators.ts: Gram matrix ${i} has ${G.length} values, expected ${inDim}×${inDim}`);
  }
  // S and the right sides [G̃_1 | G̃_2 | …] as one [in, in·N] matrix: one factorisation.
  const S = new Float64Array(nn);
  const m = inDim * n;
  const B = new Float64Array(inDim * m);
  for (let i = 0; i < n; i++) {
    const G = grams[i]!;
    for (let r = 0; r < inDim; r++) {
      for (let c = 0; c < inDim; c++) {
        const g = r === c ? G[r * inDim + c]! : alpha * G[r * inDim + c]!;
        S[r * inDim + c] += g;
        B[r * m + i * inDim + c] = g;
      }
    }
  }
  const { X, ridge } = choleskySolve(S, B, inDim, m);
  const operators = grams.map((_, i) => {
    const A = new Float32Array(nn);
    for (let r = 0; r < inDim; r++) {
      for (let c = 0; c < inDim; c++) A[r * inDim + c] = X[r * m + i * inDim + c]!;
    }
    return A;
  });
  return { operators, ridge };
}
