/**
 * DELLA's CPU twin held to a straightforward reference (naive ranks, float probabilities,
 * mergekit's L1 rescale and sign consensus in f64), plus worked examples.
 */
import { describe, expect, it } from 'vitest';
import { CounterRng, randomU32 } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { dellaMerge, dellaRanks, rankAxis, type DellaParams } from './della.cpu';

function reference(models: Float32Array[], base: Float32Array, p: Required<Omit<DellaParams, 'offset' | 'dims'>> & { dims: number[] }): Float64Array {
  const n = base.length;
  const [d0, len, ...rest] = p.dims.length < 2 ? [1, n] : p.dims;
  const stride = rest.reduce((a, b) => a * b, 1);
  const density = p.density as number;
  const eps = p.epsilon as number;
  const lo = Math.round((density - eps) * 2 ** 24) / 2 ** 24;
  const span = Math.round(2 * eps * 2 ** 24) / 2 ** 24;
  const deltas = models.map((m, i) => {
    const tau = Array.from(m, (x, j) => Math.fround(x - base[j]!));
    const kept = tau.map(() => 0);
    for (let o = 0; o < d0!; o++)
      for (let r = 0; r < stride; r++) {
        const idx = Array.from({ length: len! }, (_, k) => (o * len! + k) * stride + r);
        idx.forEach((j, k) => {
          const a = Math.abs(tau[j]!);
          const rank = idx.filter((q, kk) => Math.abs(tau[q]!) < a || (Math.abs(tau[q]!) === a && kk < k)).length;
          const prob = len! > 1 ? lo + (span * rank) / (len! - 1) : lo + span / 2;
          const u = (randomU32(p.seed, i, j) >>> 8) / 2 ** 24;
          if (u < prob) kept[j] = tau[j]!;
        });
      }
    const before = tau.reduce((s, x) => s + Math.abs(x), 0);
    const after = kept.reduce((s, x) => s + Math.abs(x), 0);
    const scale = p.rescale && before >= 1e-7 && after >= 1e-7 ? before / after : 1;
    return kept.map((x) => x * scale * p.weights[i]!);
  });
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const col = deltas.map((d) => d[j]!);
    let mixed: number;
    let divisor: number;
    if (p.consensus === 'ties') {
      const sign = col.reduce((s, x) => s + x, 0) >= 0 ? 1 : -1;
      const agree = col.map((x) => Math.sign(x) === sign);
      mixed = col.reduce((s, x, i) => s + (agree[i] ? x : 0), 0);
      divisor = p.weights.reduce((s, w, i) => s + (agree[i] ? w : 0), 0) || 1;
    } else {
      mixed = col.reduce((s, x) => s + x, 0);
      divisor = p.weights.reduce((s, w) => s + w, 0);
      if (Math.abs(divisor) < 1e-8) divisor = 1;
    }
    out[j] = base[j]! + p.lambda * (p.normalize ? mixed / divisor : mixed);
  }
  return out;
}

describe('DELLA vs reference', () => {
  const cases: [number[], number, number][] = [
    [[1], 0.5, 0.1],
    [[37], 0.5, 0.15],
    [[300], 0.3, 0.2],
    [[13, 17], 0.6, 0.1],
    [[4, 5, 6], 0.5, 0.3],
  ];
  for (const consensus of ['ties', 'none'] as const) {
    it.each(cases)(`${consensus}: dims %j, density %f, epsilon %f`, (dims, density, epsilon) => {
      const n = dims.reduce((a, b) => a * b, 1);
      const rng = new CounterRng(n + 7, 3);
      const base = seededFloats(rng, n);
      // Every other model quantised: equal magnitudes test the index tie-break.
      const models = [0, 1, 2].map((i) => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + (i % 2 ? Math.round(d * 8) / 8 : d)));
      const params = { density, epsilon, seed: 99, consensus, weights: [1, 0.5, 2], lambda: 0.9, normalize: consensus === 'ties', rescale: true, dims };
      const out = new Float32Array(n);
      dellaMerge(models, base, out, params);
      const want = reference(models, base, params);
      for (let j = 0; j < n; j++) expect(Math.abs(out[j]! - want[j]!), `element ${j}`).toBeLessThan(1e-5 * (1 + Math.abs(want[j]!)));
    });
  }

  it('ranks: ascending magnitude, equal ones by index, along axis 1', () => {
    const base = new Float32Array(6);
    // dims [2, 3]: rows (−3, 1, 1) and (0, 2, −0.5).
    const ranks = dellaRanks(Float32Array.of(-3, 1, 1, 0, 2, -0.5), base, rankAxis([2, 3], 6));
    expect([...ranks]).toEqual([2, 0, 1, 0, 2, 1]);
    // dims [2, 2, 2]: axis 1 pairs elements 2 apart.
    expect([...dellaRanks(Float32Array.of(5, 1, 4, 2, 0, 9, 1, 3), new Float32Array(8), rankAxis([2, 2, 2], 8))]).toEqual([1, 0, 0, 1, 0, 1, 1, 0]);
  });

  it('worked example: keep rate follows the rank, the L1 norm is kept, density 1 is task arithmetic', () => {
    const n = 20000;
    const rng = new CounterRng(5, 5);
    const base = seededFloats(rng, n);
    const tau = Float32Array.from({ length: n }, (_, j) => (j + 1) / n); // rank = index
    const model = Float32Array.from(tau, (t, j) => base[j]! + t);
    const out = new Float32Array(n);
    dellaMerge([model], base, out, { density: 0.5, epsilon: 0.3, seed: 1, consensus: 'none', normalize: false, rescale: false });
    const keptIn = (a: number, b: number) => {
      let c = 0;
      for (let j = a; j < b; j++) if (out[j] !== base[j]) c++;
      return c / (b - a);
    };
    expect(keptIn(0, 2000)).toBeGreaterThan(0.18); // p ≈ 0.2 … 0.26
    expect(keptIn(0, 2000)).toBeLessThan(0.28);
    expect(keptIn(18000, 20000)).toBeGreaterThan(0.72); // p ≈ 0.74 … 0.8
    dellaMerge([model], base, out, { density: 0.5, epsilon: 0.3, seed: 1, consensus: 'none', normalize: false, rescale: true });
    let l1 = 0;
    let want = 0;
    for (let j = 0; j < n; j++) {
      l1 += Math.abs(out[j]! - base[j]!);
      want += Math.abs(model[j]! - base[j]!);
    }
    expect(l1 / want).toBeCloseTo(1, 3);
    dellaMerge([model, model], base, out, { density: 1, seed: 1, consensus: 'ties' });
    for (let j = 0; j < n; j += 997) expect(out[j]).toBe(model[j]);
    expect(() => dellaMerge([model], base, out, { density: 0.9, epsilon: 0.15, seed: 0 })).toThrow(/epsilon/);
  });
});
