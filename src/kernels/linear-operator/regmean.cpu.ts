// RegMean (Jin et al., ICLR 2023): merge one linear layer of N models so the merged
// layer best reproduces every model's outputs on that model's own inputs. With Gram
// matrices G_i = X_iᵀX_i / n_i of the layer's inputs, W (the [in, out] matrix of
// y = x·W) solves (Σ G̃_i) W = Σ G̃_i W_i, where G̃_i = α·G_i + (1 − α)·diag(G_i)
// shrinks the off-diagonal part (α = 1: plain RegMean; α = 0: a per-input-feature
// weighted average). Only linear weights go through here; the caller averages
// everything else (biases, LayerNorm, embeddings).
// We solve for the offset from the simple average, Δ = W − mean(W_i), instead of W:
// the answer is the same whenever the system is regular, and when it is singular
// (an input feature no model ever activates) the Cholesky ridge pulls those
// directions back to the simple average rather than to zero.
// Pure logic: typed arrays in and out; float64 throughout, float32 only at the end.

import { choleskySolve } from '../../linalg/cholesky';
import type { LinearLayout } from '../../formats/onnx-outputs';

export type { LinearLayout };

export class RegMeanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegMeanError';
  }
}

export interface RegMeanResult {
  /** Merged weight in the same stored layout as the inputs. */
  merged: Float32Array;
  /** Relative ridge the solve needed (0: none); see linalg/cholesky. */
  ridge: number;
}

/** Weight as float64 [in, out] (the x·W orientation), whatever its stored layout. */
function toInOut(w: Float32Array, layout: LinearLayout, inDim: number, outDim: number): Float64Array {
  if (layout === 'in-out') return Float64Array.from(w);
  const t = new Float64Array(inDim * outDim);
  for (let o = 0; o < outDim; o++) {
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) t[i * outDim + o] = w[row + i]!;
  }
  return t;
}

/** acc += (α·G + (1 − α)·diag(G)) · W, with W [in, out]. */
function addShrunkProduct(acc: Float64Array, G: Float64Array, W: Float64Array, alpha: number, inDim: number, outDim: number): void {
  for (let r = 0; r < inDim; r++) {
    const ar = r * outDim;
    for (let p = 0; p < inDim; p++) {
      const g = p === r ? G[r * inDim + p]! : alpha * G[r * inDim + p]!;
      if (g === 0) continue;
      const wp = p * outDim;
      for (let c = 0; c < outDim; c++) acc[ar + c] += g * W[wp + c]!;
    }
  }
}

/**
 * RegMean merge of one linear layer. `weights[i]` is model i's weight in the stored
 * `layout` ('in-out': [in, out] as ONNX MatMul stores it; 'out-in': [out, in] as
 * torch and Gemm transB=1 store it); `grams[i]` is model i's Gram matrix of the
 * layer's inputs, [in, in] row-major, symmetric. `alpha` ∈ [0, 1].
 */
export function regmeanMerge(
  weights: readonly Float32Array[],
  grams: readonly Float64Array[],
  layout: LinearLayout,
  inDim: number,
  outDim: number,
  alpha: number,
): RegMeanResult {
  const n = weights.length;
  if (n === 0) throw new RegMeanError('regmeanMerge: no models to merge');
  if (grams.length !== n) throw new RegMeanError(`regmeanMerge: ${n} weights but ${grams.length} Gram matrices`);
  if (layout !== 'in-out' && layout !== 'out-in') throw new RegMeanError(`regmeanMerge: unknown layout "${String(layout)}"`);
  if (!Number.isSafeInteger(inDim) || inDim <= 0 || !Number.isSafeInteger(outDim) || outDim <= 0) {
    throw new RegMeanError(`regmeanMerge: bad sizes in=${inDim}, out=${outDim}`);
  }
  if (!(alpha >= 0 && alpha <= 1)) throw new RegMeanError(`regmeanMerge: alpha must lie in [0, 1], got ${alpha}`);
  for (let i = 0; i < n; i++) {
    if (weights[i]!.length !== inDim * outDim) {
      throw new RegMeanError(`regmeanMerge: weight ${i} has ${weights[i]!.length} values, expected ${inDim}×${outDim}`);
    }
    if (grams[i]!.length !== inDim * inDim) {
      throw new RegMeanError(`regmeanMerge: Gram matrix ${i} has ${grams[i]!.length} values, expected ${inDim}×${inDim}`);
    }
  }

  const size = inDim * outDim;
  const ws = weights.map((w) => toInOut(w, layout, inDim, outDim));
  const mean = new Float64Array(size);
  for (const w of ws) for (let k = 0; k < size; k++) mean[k] += w[k]!;
  for (let k = 0; k < size; k++) mean[k] /= n;

  // lhs = Σ G̃_i;  rhs = Σ G̃_i·(W_i − mean), the right side of lhs·Δ = rhs.
  const lhs = new Float64Array(inDim * inDim);
  const rhs = new Float64Array(size);
  const centred = new Float64Array(size);
  for (let i = 0; i < n; i++) {
    const G = grams[i]!;
    for (let r = 0; r < inDim; r++) {
      for (let c = 0; c < inDim; c++) {
        const k = r * inDim + c;
        lhs[k] += r === c ? G[k]! : alpha * G[k]!;
      }
    }
    const w = ws[i]!;
    for (let k = 0; k < size; k++) centred[k] = w[k]! - mean[k]!;
    addShrunkProduct(rhs, G, centred, alpha, inDim, outDim);
  }

  const { X: delta, ridge } = choleskySolve(lhs, rhs, inDim, outDim);
  const merged = new Float32Array(size);
  if (layout === 'in-out') {
    for (let k = 0; k < size; k++) merged[k] = mean[k]! + delta[k]!;
  } else {
    for (let i = 0; i < inDim; i++) {
      for (let o = 0; o < outDim; o++) merged[o * inDim + i] = mean[i * outDim + o]! + delta[i * outDim + o]!;
    }
  }
  return { merged, ridge };
}
