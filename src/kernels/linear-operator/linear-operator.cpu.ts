/**
 * Linear operator over stacked linear weights, CPU twin of linear-operator.wgsl.ts:
 *   merged = Σ_i A_i·W_i,  W_i [in, out] in the x·W orientation, A_i [in, in].
 * For weights stored 'out-in' ([out, in], torch / Gemm transB=1) the same map reads
 *   merged[o, j] = Σ_i Σ_k W_i[o, k]·A_i[j, k],
 * so the result keeps the weights' stored layout. RegMean with fixed Gram matrices is
 * such an operator (regmean-operators.ts). Inputs are f32; sums run in f64 and are
 * rounded once, so the GPU (f32 sums, one pass per model) differs by at most about
 * (inDim + models)·2⁻²⁴ relative to Σ |A|·|W|.
 * Pure module: typed arrays in, typed arrays out.
 */
import { KernelParamsError } from '../errors';

export type LinearOperatorLayout = 'in-out' | 'out-in';

export function validateLinearOperator(
  modelCount: number,
  wCount: number,
  layout: LinearOperatorLayout,
  inDim: number,
  outDim: number,
): void {
  if (modelCount < 1) throw new KernelParamsError('linear-operator: no models');
  if (wCount !== modelCount) throw new KernelParamsError(`linear-operator: ${modelCount} operators but ${wCount} weights`);
  if (layout !== 'in-out' && layout !== 'out-in') throw new KernelParamsError(`linear-operator: unknown layout "${String(layout)}"`);
  if (!Number.isSafeInteger(inDim) || inDim <= 0 || !Number.isSafeInteger(outDim) || outDim <= 0) {
    throw new KernelParamsError(`linear-operator: bad sizes in=${inDim}, out=${outDim}`);
  }
}

export function linearOperatorCpu(
  as: readonly Float32Array[],
  ws: readonly Float32Array[],
  layout: LinearOperatorLayout,
  inDim: number,
  outDim: number,
  out: Float32Array,
): void {
  validateLinearOperator(as.length, ws.length, layout, inDim, outDim);
  const size = inDim * outDim;
  if (out.length !== size) throw new KernelParamsError(`linear-operator.cpu.ts: out has ${out.length} values, expected ${inDim}×${outDim}`);
  for (let i = 0; i < as.length; i++) {
    if (as[i]!.length !== inDim * inDim) {
      throw new KernelParamsError(`linear-operator.cpu.ts: operator ${i} has ${as[i]!.length} values, expected ${inDim}×${inDim}`);
    }
    if (ws[i]!.length !== size) throw new KernelParamsError(`linear-operator.cpu.ts: weight ${i} has ${ws[i]!.length} values, expected ${size}`);
  }
  const acc = new Float64Array(size);
  for (let i = 0; i < as.length; i++) {
    const A = as[i]!;
    const W = ws[i]!;
    if (layout === 'in-out') {
      // acc[j, :] += Σ_k A[j, k]·W[k, :]
      for (let j = 0; j < inDim; j++) {
        const row = j * outDim;
        for (let k = 0; k < inDim; k++) {
          const a = A[j * inDim + k]!;
          const wk = k * outDim;
          for (let o = 0; o < outDim; o++) acc[row + o] += a * W[wk + o]!;
        }
      }
    } else {
      // acc[o, j] += Σ_k W[o, k]·A[j, k]
      for (let o = 0; o < outDim; o++) {
        const wo = o * inDim;
        for (let j = 0; j < inDim; j++) {
          const aj = j * inDim;
          let s = 0;
          for (let k = 0; k < inDim; k++) s += W[wo + k]! * A[aj + k]!;
          acc[wo + j] += s;
        }
      }
    }
  }
  for (let e = 0; e < size; e++) out[e] = acc[e]!;
}
