/**
 * Kinship moments of two tensors, CPU twin of kinship.wgsl.ts. With a = x − c and
 * b = y − c (c the reference: the base model, the population mean, or 0):
 *
 *   sumA = Σa, sumB = Σb, sumAB = Σab, sumAA = Σa², sumBB = Σb², sumDD = Σ(x − y)²
 *
 * Model kinship (Hu et al. 2024) is computed on task vectors a, b: Pearson and cosine
 * from the first five sums, Euclidean distance from the last (taken on x − y directly:
 * ‖a‖² + ‖b‖² − 2ab would cancel catastrophically for close models). Moments add up
 * across tensors, so per-layer and whole-model kinship come from the same reductions.
 * Sums are float64 (every f32 input and difference is exact in f64): this twin doubles
 * as the reference the GPU's f32 tree reduction is measured against.
 * Pure module: typed arrays in, plain numbers out.
 */
import { KernelParamsError } from '../errors';

export interface KinshipMoments {
  n: number;
  sumA: number;
  sumB: number;
  sumAB: number;
  sumAA: number;
  sumBB: number;
  sumDD: number;
}

export const ZERO_MOMENTS: KinshipMoments = Object.freeze({ n: 0, sumA: 0, sumB: 0, sumAB: 0, sumAA: 0, sumBB: 0, sumDD: 0 });

export function addMoments(p: KinshipMoments, q: KinshipMoments): KinshipMoments {
  return {
    n: p.n + q.n,
    sumA: p.sumA + q.sumA,
    sumB: p.sumB + q.sumB,
    sumAB: p.sumAB + q.sumAB,
    sumAA: p.sumAA + q.sumAA,
    sumBB: p.sumBB + q.sumBB,
    sumDD: p.sumDD + q.sumDD,
  };
}

export function kinshipMomentsCpu(x: Float32Array, y: Float32Array, reference: Float32Array | null = null): KinshipMoments {
  const n = x.length;
  if (y.length !== n || (reference !== null && reference.length !== n)) {
    throw new KernelParamsError(`kinship.cpu.ts: lengths differ (x ${n}, y ${y.length}${reference !== null ? `, reference ${reference.length}` : ''})`);
  }
  let sa = 0;
  let sb = 0;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  let sdd = 0;
  for (let j = 0; j < n; j++) {
    const c = reference === null ? 0 : reference[j]!;
    const xj = x[j]!;
    const yj = y[j]!;
    const a = xj - c;
    const b = yj - c;
    const d = xj - yj;
    sa += a;
    sb += b;
    sab += a * b;
    saa += a * a;
    sbb += b * b;
    sdd += d * d;
  }
  return { n, sumA: sa, sumB: sb, sumAB: sab, sumAA: saa, sumBB: sbb, sumDD: sdd };
}
