/** SCE's CPU twin held to a straightforward reference of mergekit's sce_merge (f64, sorting for top-k), plus worked examples. */
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { sceMerge, sceSelectMask, sceVariance } from './sce.cpu';

function reference(models: Float32Array[], base: Float32Array, topk: number): Float64Array {
  const n = base.length;
  const N = models.length;
  let tvs = models.map((m) => Array.from(m, (x, j) => Math.fround(x - base[j]!)));
  if (topk < 1) {
    const variance = Array.from({ length: n }, (_, j) => {
      const col = tvs.map((t) => t[j]!);
      const mean = col.reduce((a, b) => a + b, 0) / N;
      return col.reduce((a, x) => a + (x - mean) ** 2, 0) / N;
    });
    const nonzero = variance.filter((v) => v !== 0).length;
    const k = topk <= 0 ? 0 : Math.floor(nonzero * topk);
    const order = variance.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const keep = new Set(order.slice(0, k).map(([, j]) => j));
    tvs = tvs.map((t) => t.map((x, j) => (keep.has(j) ? x : 0)));
  }
  const means = tvs.map((t) => t.reduce((a, x) => a + x * x, 0) / n);
  const total = means.reduce((a, b) => a + b, 0);
  const w = Math.abs(total) < 1e-6 ? means.map(() => 1 / N) : means.map((v) => v / total);
  return Float64Array.from({ length: n }, (_, j) => {
    const col = tvs.map((t) => t[j]!);
    const sign = col.reduce((a, b) => a + b, 0) >= 0 ? 1 : -1;
    let num = 0;
    let den = 0;
    col.forEach((x, i) => {
      if (Math.sign(x) === sign) {
        num += x * w[i]!;
        den += w[i]!;
      }
    });
    return base[j]! + num / Math.max(den, 1e-6);
  });
}

describe('SCE vs reference', () => {
  const cases: [number, number][] = [
    [1, 1],
    [37, 0.5],
    [1000, 0.1],
    [1000, 1],
    [4099, 0.3],
    [50, 0],
  ];
  it.each(cases)('n %i, select_topk %f', (n, topk) => {
    const rng = new CounterRng(n + 1, 8);
    const base = seededFloats(rng, n);
    const models = [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, n, 0.01, 1), (d, j) => base[j]! + d));
    const out = new Float32Array(n);
    sceMerge(models, base, out, { selectTopk: topk });
    const want = reference(models, base, topk);
    for (let j = 0; j < n; j++) expect(Math.abs(out[j]! - want[j]!), `element ${j}`).toBeLessThan(1e-5 * (1 + Math.abs(want[j]!)));
  });

  it('worked example', () => {
    const base = Float32Array.of(0, 0, 0);
    // τ: model A (1, 2, 0), model B (3, −2, 0): variances 1, 4, 0 → select_topk 0.5 of 2 nonzero keeps entry 1 only.
    const a = Float32Array.of(1, 2, 0);
    const b = Float32Array.of(3, -2, 0);
    expect([...sceSelectMask([a, b], base, 0.5)]).toEqual([0, 1, 0]);
    const out = new Float32Array(3);
    sceMerge([a, b], base, out, { selectTopk: 0.5 });
    // Masked τ: A (0, 2, 0), B (0, −2, 0); Σ = 0 elects +: only A agrees → 2.
    expect([...out]).toEqual([0, 2, 0]);
    sceMerge([a, b], base, out, { selectTopk: 1 });
    // Weights ∝ mean squares 5/3, 13/3 → 5/18, 13/18. Entry 0: both agree → (5·1 + 13·3)/18; entry 1: Σ = 0 → A alone → 2.
    expect(out[0]).toBeCloseTo((5 + 39) / 18, 6);
    expect(out[1]).toBe(2);
    expect(out[2]).toBe(0);
  });
});

describe('sceVariance', () => {
  it('is exactly 0 where every model has the same task vector (as torch.var), for any model count', () => {
    const base = new Float32Array(3000).map((_, i) => Math.cos(i));
    const same = base.map((b, i) => b + Math.sin(7 * i));
    for (const n of [2, 3, 5, 7]) expect(Array.from(sceVariance(new Array(n).fill(same), base)).every((v) => v === 0), `${n} models`).toBe(true);
  });
});
