/**
 * Test twin: SLERP's and model stock's TypeScript merges as they stood before their
 * WebAssembly fast paths: dot-norms.cpu.ts's f64 loops per pair, then one scale-add.cpu.ts
 * pass per input. The coefficient math is shared (slerpCoefficients, modelStockCoefficients);
 * only the loops are copied here. The tests hold the fast paths to these bits.
 * Imported by *.test.ts only.
 */
import type { DotNorms } from '../dot-norms/dot-norms.cpu';
import { modelStockCoefficients, modelStockPairs, type ModelStockCoefficients } from '../model-stock/model-stock.cpu';
import { THREAD_CHUNK } from '../threads/chunked-call';
import { slerpCoefficients, type SlerpCoefficients, type SlerpParams } from '../slerp/slerp.cpu';

/** Sums within each chunk of THREAD_CHUNK floats in four lanes (element j in lane j mod 4, then (l0 + l1) + (l2 + l3)), the chunks' sums added in order. */
export function dotNormsReference(x: Float32Array, y: Float32Array, base: Float32Array | null = null): DotNorms {
  const n = x.length;
  const total = { dot: 0, normSqX: 0, normSqY: 0 };
  const lanes = (v: number[]) => v[0]! + v[1]! + (v[2]! + v[3]!);
  for (let start = 0; start < n; start += THREAD_CHUNK) {
    const dot = [0, 0, 0, 0];
    const xx = [0, 0, 0, 0];
    const yy = [0, 0, 0, 0];
    for (let j = start; j < Math.min(n, start + THREAD_CHUNK); j++) {
      const c = base === null ? 0 : base[j]!;
      const a = base === null ? x[j]! : x[j]! - c;
      const b = base === null ? y[j]! : y[j]! - c;
      dot[j % 4]! += a * b;
      xx[j % 4]! += a * a;
      yy[j % 4]! += b * b;
    }
    total.dot += lanes(dot);
    total.normSqX += lanes(xx);
    total.normSqY += lanes(yy);
  }
  return total;
}

export function scaleAddReference(out: Float32Array, x: Float32Array, alpha: number, beta: number): void {
  const a = Math.fround(alpha);
  const b = Math.fround(beta);
  const n = out.length;
  if (a === 0) for (let j = 0; j < n; j++) out[j] = b * x[j]!;
  else for (let j = 0; j < n; j++) out[j] = Math.fround(a * out[j]!) + Math.fround(b * x[j]!);
}

export function slerpReference(a: Float32Array, b: Float32Array, params: SlerpParams, out: Float32Array): SlerpCoefficients {
  const coefficients = slerpCoefficients(dotNormsReference(a, b), params);
  scaleAddReference(out, a, 0, coefficients.weightA);
  scaleAddReference(out, b, 1, coefficients.weightB);
  return coefficients;
}

export function modelStockReference(base: Float32Array, models: readonly Float32Array[], out: Float32Array): ModelStockCoefficients {
  const stats = modelStockPairs(models.length).map(([i, j]) => dotNormsReference(models[i]!, models[j]!, base));
  const coefficients = modelStockCoefficients(stats, models.length, {});
  scaleAddReference(out, base, 0, coefficients.weightBase);
  for (const m of models) scaleAddReference(out, m, 1, coefficients.weightModel);
  return coefficients;
}
