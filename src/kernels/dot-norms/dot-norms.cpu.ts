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
 * reduction is measured against.
 * Pure module: typed arrays in, plain numbers out.
 */
import { KernelParamsError } from '../errors';

export interface DotNorms {
  dot: number;
  normSqX: number;
  normSqY: number;
}

export function dotNormsCpu(x: Float32Array, y: Float32Array, base: Float32Array | null = null): DotNorms {
  const n = x.length;
  if (y.length !== n || (base !== null && base.length !== n)) {
    throw new KernelParamsError(
      `dot-norms.cpu.ts: lengths differ (x ${n}, y ${y.length}${base !== null ? `, base ${base.length}` : ''})`,
    );
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
