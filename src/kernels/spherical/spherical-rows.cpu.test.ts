/** NuSLERP per row / per column held to a reference that slerps each slice on its own (mergekit's formula). */
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { nuslerpMerge } from './spherical.cpu';
import { nuslerpRowsMerge } from './spherical-rows.cpu';

function refSlerp(t: number, v0: number[], v1: number[]): number[] {
  const d = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  const n0 = Math.max(Math.sqrt(d(v0, v0)), 1e-7);
  const n1 = Math.max(Math.sqrt(d(v1, v1)), 1e-7);
  const th = Math.acos(Math.min(1, Math.max(-1, d(v0, v1) / (n0 * n1))));
  const s = Math.sin(th);
  return v0.map((x, i) => (Math.abs(s) < 1e-8 ? (1 - t) * x + t * v1[i]! : (Math.sin((1 - t) * th) * x + Math.sin(t * th) * v1[i]!) / s));
}

describe('nuslerp rows vs reference', () => {
  it.each([
    [[5, 7], false],
    [[5, 7], true],
    [[3, 4, 6], false],
    [[3, 4, 6], true],
    [[11], false],
  ] as [number[], boolean][])('dims %j, row-wise %s', (dims, rowWise) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const rng = new CounterRng(n, 2);
    const base = seededFloats(rng, n);
    const [a, b] = [0, 1].map(() => Float32Array.from(seededFloats(rng, n, 0.01, 0.5), (d, j) => base[j]! + d)) as [Float32Array, Float32Array];
    const out = new Float32Array(n);
    nuslerpRowsMerge([a, b], base, out, dims, rowWise, { weights: [1, 3] });
    const want = new Float64Array(n);
    const len = rowWise ? dims[0]! : dims[dims.length - 1]!;
    const stride = rowWise && dims.length > 1 ? n / len : 1;
    for (let v = 0; v < n / len; v++) {
      const idx = Array.from({ length: len }, (_, k) => (stride === 1 ? v * len + k : v + k * stride));
      const r = refSlerp(0.75, idx.map((j) => a[j]! - base[j]!), idx.map((j) => b[j]! - base[j]!));
      idx.forEach((j, k) => (want[j] = base[j]! + r[k]!));
    }
    for (let j = 0; j < n; j++) expect(Math.abs(out[j]! - want[j]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[j]!)));
  });

  it('one row is the flattened merge', () => {
    const rng = new CounterRng(9, 9);
    const [a, b] = [seededFloats(rng, 9), seededFloats(rng, 9)] as [Float32Array, Float32Array];
    const rows = new Float32Array(9);
    const flat = new Float32Array(9);
    nuslerpRowsMerge([a, b], null, rows, [1, 9], false, { weights: [2, 1] });
    nuslerpMerge([a, b], null, flat, { weights: [2, 1] });
    expect([...rows]).toEqual([...flat]);
  });
});
