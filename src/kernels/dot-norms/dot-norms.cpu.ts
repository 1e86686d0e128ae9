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
 * reduction is measured against. Where WebAssembly SIMD is available, tensors of
 * STAGED_MIN_FLOATS or more are summed in staged-merges/staged-merges.wasm.ts: the same
 * operations in the same order, so the same bits.
 * Pure module: typed arrays in, plain numbers out.
 */
import { stagedMerges } from '../staged-merges/staged-merges.wasm';
import { KernelParamsError } from '../errors';

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
  let dot = 0;
  let xx = 0;
  let yy = 0;
  if (base === null) {
    for (let j = 0; j < n; j++) {
      const a = x[j]!;
      const b = y[j]!;
      dot += a * b;
      xx += a * a;
      yy += b * b;
    }
  } else {
    for (let j = 0; j < n; j++) {
      const c = base[j]!;
      const a = x[j]! - c;
      const b = y[j]! - c;
      dot += a * b;
      xx += a * a;
      yy += b * b;
    }
  }
  return { dot, normSqX: xx, normSqY: yy };
}
