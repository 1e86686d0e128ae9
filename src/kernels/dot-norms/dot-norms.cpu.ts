/**
 * Dot product and squared norms of two tensors (optionally of their differences from a
 * base), CPU twin of dot-norms.wgsl.ts:
 *
 *   dot = Σ (x_j − c_j)(y_j − c_j),  normSqX = Σ (x_j − c_j)²,  normSqY = Σ (y_j − c_j)²
 *
 * with c = 0 when no base is given. SLERP needs the angle between two tensors, model
 * stock the angles between task vectors τ_i = θ_i − θ_0; computing τ on the fly saves a
 * copy of every model. Differences, products and sums are float64 here (every f32
 * input is exact in f64), so this twin doubles as the reference the GPU's f32 tree
 * reduction is measured against. The sums run in four lanes within each THREAD_CHUNK of
 * floats and the chunks' partials add in chunk order (threads/chunked-call.ts), so that
 * threads can split them. Where WebAssembly SIMD is available, tensors of STAGED_MIN_FLOATS or more are summed in
 * staged-merges/staged-merges.wasm.ts: the same operations in the same order, so the same bits.
 * Pure module: typed arrays in, plain numbers out.
 */
import { stagedMerges } from '../staged-merges/staged-merges.wasm';
import { KernelParamsError } from '../errors';
import { foldChunks, laneTotal } from '../threads/chunked-call';

export interface DotNorms {
  dot: number;
  normSqX: number;
  normSqY: number;
}

export function dotNormsCpu(x: Float32Array, y: Float32Array, base: Float32Array | null = null): DotNorms {
  return dotNormsWith(x, y, base, true);
}

/** dotNormsCpu; useWasm false keeps the loop in TypeScript (the tests compare both paths). */
export function dotNormsWith(x: Float32Array, y: Float32Array, base: Float32Array | null, useWasm: boolean): DotNorms {
  const n = x.length;
  if (y.length !== n || (base !== null && base.length !== n)) {
    throw new KernelParamsError(
      `dot-norms.cpu.ts: lengths differ (x ${n}, y ${y.length}${base !== null ? `, base ${base.length}` : ''})`,
    );
  }
  const staged = useWasm ? stagedMerges(n) : null;
  if (staged) {
    const [normSqX, normSqY, dot] = base === null ? staged.plainStats(x, y) : staged.taskVectorStats([x, y], base);
    return { dot, normSqX, normSqY };
  }
  const [normSqX, normSqY, dot] = foldChunks(n, 3, (start, len) => chunkSums(x, y, base, start, start + len));
  return { dot: dot!, normSqX: normSqX!, normSqY: normSqY! };
}

/** [‖x‖², ‖y‖², x·y] over the chunk [from, to): in SUM_LANES lanes from 0, element j in lane (j − from) mod 4. */
function chunkSums(x: Float32Array, y: Float32Array, base: Float32Array | null, from: number, to: number): [number, number, number] {
  const dot = [0, 0, 0, 0];
  const xx = [0, 0, 0, 0];
  const yy = [0, 0, 0, 0];
  for (let j = from; j < to; j++) {
    const c = base === null ? 0 : base[j]!;
    const a = base === null ? x[j]! : x[j]! - c;
    const b = base === null ? y[j]! : y[j]! - c;
    const l = (j - from) & 3;
    dot[l]! += a * b;
    xx[l]! += a * a;
    yy[l]! += b * b;
  }
  return [laneTotal(xx), laneTotal(yy), laneTotal(dot)];
}
