/**
 * NuSLERP without flatten (mergekit nuslerp(..., flatten=False)): each vector along one axis
 * of the tensor is interpolated on its own: the last axis (dim = -1, rows of a matrix), or
 * with row_wise the first (dim = 0, mergekit transposes it to the end: columns of a matrix).
 * Per vector the same coefficients as the flattened merge (nuslerpCoefficients on its 2×2
 * Gram, f64) and the same f32 steps: out = c₀θ₀ + c₁θ₁, or with a base
 * out = base + c₀·(θ₀ − base) + c₁·(θ₁ − base) (on the task vectors, as the flattened merge).
 * CPU only (a per-row reduction has no GPU twin yet). Pure module.
 */
import { KernelParamsError } from '../errors';
import { checkSpherical, nuslerpCoefficients, type NuslerpParams } from './spherical.cpu';

/** Vectors along the last axis (rowWise false) or the first: [count, length, stride between elements]. */
export function vectorAxis(dims: readonly number[], total: number, rowWise: boolean): { count: number; length: number; stride: number } {
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 0 || size !== total) throw new KernelParamsError(`spherical-rows.cpu.ts: dims [${dims.join(', ')}] do not hold ${total} elements`);
  if (dims.length === 1) return { count: 1, length: total, stride: 1 };
  const length = rowWise ? dims[0]! : dims[dims.length - 1]!;
  return { count: total / length, length, stride: rowWise ? total / length : 1 };
}

export function nuslerpRowsMerge(
  models: readonly Float32Array[],
  base: Float32Array | null,
  out: Float32Array,
  dims: readonly number[],
  rowWise: boolean,
  params: NuslerpParams = {},
): void {
  checkSpherical(models, base, out, 'spherical-rows.cpu.ts (nuslerp)');
  if (models.length !== 2) throw new KernelParamsError(`spherical-rows.cpu.ts: nuslerp merges exactly two models, got ${models.length}`);
  const [a, b] = models as [Float32Array, Float32Array];
  const { count, length, stride } = vectorAxis(dims, out.length, rowWise);
  const g = new Float64Array(4);
  for (let v = 0; v < count; v++) {
    // Vector v: along the last axis, elements v·length + k; along the first, v + k·stride.
    const first = stride === 1 ? v * length : v;
    let dot = 0;
    let aa = 0;
    let bb = 0;
    for (let k = 0, j = first; k < length; k++, j += stride) {
      const c = base ? base[j]! : 0;
      const x = a[j]! - c;
      const y = b[j]! - c;
      dot += x * y;
      aa += x * x;
      bb += y * y;
    }
    g[0] = aa;
    g[1] = dot;
    g[2] = dot;
    g[3] = bb;
    const [c0, c1] = nuslerpCoefficients(g, params) as [number, number];
    const w0 = Math.fround(c0);
    const w1 = Math.fround(c1);
    for (let k = 0, j = first; k < length; k++, j += stride) {
      if (base) {
        const c = base[j]!;
        out[j] = c + Math.fround(Math.fround(w0 * Math.fround(a[j]! - c)) + Math.fround(w1 * Math.fround(b[j]! - c)));
      } else out[j] = Math.fround(w0 * a[j]!) + Math.fround(w1 * b[j]!);
    }
  }
}
