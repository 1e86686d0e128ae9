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
 * Sums are float64 (differences and products of f32 inputs taken in f64): this twin doubles
 * as the reference the GPU's f32 tree reduction is measured against. They run in four lanes
 * within each THREAD_CHUNK of floats, the chunks' partials added in chunk order
 * (threads/chunked-call.ts), so threads can split them; where WebAssembly SIMD is available,
 * tensors of STAGED_MIN_FLOATS or more are summed by staged-merges/staged-merges.wasm.ts with
 * the same operations in the same order (the same bits).
 * Pure module: typed arrays in, plain numbers out.
 */
import { KernelParamsError } from '../errors';
import { stagedMerges } from '../staged-merges/staged-merges.wasm';
import { foldChunks, laneTotal } from '../threads/chunked-call';

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
  return kinshipMomentsWith(x, y, reference, true);
}

/** kinshipMomentsCpu; useWasm false keeps the loop in TypeScript (the tests compare both paths). */
export function kinshipMomentsWith(x: Float32Array, y: Float32Array, reference: Float32Array | null, useWasm: boolean): KinshipMoments {
  const n = x.length;
  if (y.length !== n || (reference !== null && reference.length !== n)) {
    throw new KernelParamsError(`kinship.cpu.ts: lengths differ (x ${n}, y ${y.length}${reference !== null ? `, reference ${reference.length}` : ''})`);
  }
  const staged = useWasm ? stagedMerges(n) : null;
  const [sa, sb, sab, saa, sbb, sdd] = staged ? staged.kinshipMoments(x, y, reference) : foldChunks(n, 6, (start, len) => chunkMoments(x, y, reference, start, start + len));
  return { n, sumA: sa!, sumB: sb!, sumAB: sab!, sumAA: saa!, sumBB: sbb!, sumDD: sdd! };
}

/** The six sums over the chunk [from, to): in SUM_LANES lanes from 0, element j in lane (j − from) mod 4. */
function chunkMoments(x: Float32Array, y: Float32Array, reference: Float32Array | null, from: number, to: number): number[] {
  const lanes = Array.from({ length: 6 }, () => [0, 0, 0, 0]);
  const [sa, sb, sab, saa, sbb, sdd] = lanes as [number[], number[], number[], number[], number[], number[]];
  for (let j = from; j < to; j++) {
    const xj = x[j]!;
    const yj = y[j]!;
    const a = reference === null ? xj : xj - reference[j]!;
    const b = reference === null ? yj : yj - reference[j]!;
    const d = xj - yj;
    const l = (j - from) & 3;
    sa[l]! += a;
    sb[l]! += b;
    sab[l]! += a * b;
    saa[l]! += a * a;
    sbb[l]! += b * b;
    sdd[l]! += d * d;
  }
  return lanes.map((lane) => laneTotal(lane));
}
