import { describe, expect, it } from 'vitest';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { taskArithmeticMerge } from './task-arithmetic.cpu';
import { tiesMerge } from './ties.cpu';

const rng = new CounterRng(0x71e5, 3);

function ties(models: Float32Array[], base: Float32Array, params: Parameters<typeof tiesMerge>[3] = {}): Float32Array {
  const out = new Float32Array(base.length);
  tiesMerge(models, base, out, params);
  return out;
}

/**
 * Straightforward f64 reference: sort-based trim (|τ| desc, index asc), sign election on
 * Σ w τ̂ (+ when ≥ 0), mean (or sum) of the agreeing w τ̂. Also returns each element's
 * vote margin |Σ w τ̂| / Σ |w τ̂|, where f32 and f64 may elect differently.
 */
function referenceTies(models: Float32Array[], base: Float32Array, weights: number[], density: number, lambda: number, normalize: boolean) {
  const n = base.length;
  const k = Math.round(density * n);
  const trimmed = models.map((m) => {
    const tau = Float64Array.from(m, (x, j) => Math.fround(x - base[j]!));
    const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => Math.abs(tau[b]!) - Math.abs(tau[a]!) || a - b);
    const kept = new Float64Array(n);
    for (const j of order.slice(0, k)) kept[j] = tau[j]!;
    return kept;
  });
  const out = new Float64Array(n);
  const margin = new Float64Array(n);
  const scale = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const c = trimmed.map((t, i) => weights[i]! * t[j]!);
    const s = c.reduce((a, b) => a + b, 0);
    const mag = c.reduce((a, b) => a + Math.abs(b), 0);
    let num = 0;
    let den = 0;
    c.forEach((x, i) => {
      if (s >= 0 ? x > 0 : x < 0) {
        num += x;
        den += weights[i]!;
      }
    });
    out[j] = base[j]! + lambda * (normalize ? num / (den === 0 ? 1 : den) : num);
    margin[j] = mag === 0 ? Infinity : Math.abs(s) / mag;
    scale[j] = Math.abs(base[j]!) + Math.abs(lambda) * mag * (normalize ? 1 / Math.min(...weights) : 1);
  }
  return { out, margin, scale };
}

describe('tiesMerge: hand-computed cases', () => {
  // Two models, three elements, base 0 so τ = θ:
  //   τ1 = [ 2, -1,  3]
  //   τ2 = [-1, -2,  1]
  //   Σ τ = [ 1, -3,  4]  → elected signs [+, −, +]
  //   j0: only τ1 (2) agrees              → 2 / 1        = 2
  //   j1: both agree                      → (-1 - 2) / 2 = -1.5
  //   j2: both agree                      → (3 + 1) / 2  = 2
  const tau1 = Float32Array.of(2, -1, 3);
  const tau2 = Float32Array.of(-1, -2, 1);
  const zeros = new Float32Array(3);

  it('density 1, base 0: sign election then the mean of the agreeing entries', () => {
    expect(ties([tau1, tau2], zeros)).toEqual(Float32Array.of(2, -1.5, 2));
    // Without normalisation the agreeing entries are summed: [2, -3, 4].
    expect(ties([tau1, tau2], zeros, { normalize: false })).toEqual(Float32Array.of(2, -3, 4));
  });

  it('density 1, non-zero base, weights [3, 1], λ = 0.5', () => {
    // base = [0.5, -0.5, 1], θ_i = base + τ_i. w τ1 = [6, -3, 9], w τ2 = [-1, -2, 1]
    // Σ = [5, -5, 10] → [+, −, +]; merged = [6/3, (-3 - 2)/4, (9 + 1)/4] = [2, -1.25, 2.5]
    // out = base + 0.5·merged = [1.5, -1.125, 2.25]
    const base = Float32Array.of(0.5, -0.5, 1);
    const models = [tau1, tau2].map((t) => Float32Array.from(t, (x, j) => x + base[j]!));
    expect(ties(models, base, { weights: [3, 1], lambda: 0.5 })).toEqual(Float32Array.of(1.5, -1.125, 2.25));
  });

  it('density 0.5 (k = round(1.5) = 2 per model) with a tie at the threshold', () => {
    // τ1 = [2, -1, 3]: keep |3| and |2|          → τ̂1 = [2, 0, 3]
    // τ2 = [-1, -2, 1]: keep |-2|, then the tie at 1 goes to the lower index j0 → τ̂2 = [-1, -2, 0]
    // Σ τ̂ = [1, -2, 3] → [+, −, +]; j0: τ̂1 = 2 agrees (τ̂2 = -1 does not); j1: only τ̂2; j2: only τ̂1
    expect(ties([tau1, tau2], zeros, { density: 0.5 })).toEqual(Float32Array.of(2, -2, 3));
    // Per-model density: τ1 untrimmed, τ2 at 0.5 → Σ = [1, -3, 3]; j1: (-1 - 2)/2
    expect(ties([tau1, tau2], zeros, { density: [1, 0.5] })).toEqual(Float32Array.of(2, -1.5, 3));
  });

  it('a zero vote elects + (mergekit), density 0 returns the base, disagreement everywhere keeps the elected side', () => {
    expect(ties([Float32Array.of(1), Float32Array.of(-1)], new Float32Array(1))).toEqual(Float32Array.of(1));
    const base = seededFloats(rng, 7);
    const models = [seededFloats(rng, 7), seededFloats(rng, 7)];
    expect(ties(models, base, { density: 0 })).toEqual(base);
  });
});

describe('tiesMerge: random tensors', () => {
  it('matches the f64 sort-based reference except where the vote is within rounding of 0', () => {
    for (const [n, density] of [[1, 1], [257, 0.2], [5003, 0.5], [4097, 0.9]] as const) {
      const base = seededFloats(rng, n);
      const models = [0, 1, 2].map(() => seededFloats(rng, n));
      const weights = models.map(() => 0.5 + rng.nextUnit());
      const lambda = 0.3 + 0.7 * rng.nextUnit();
      for (const normalize of [true, false]) {
        const out = ties(models, base, { weights, density, lambda, normalize });
        const ref = referenceTies(models, base, weights, density, lambda, normalize);
        let ambiguous = 0;
        for (let j = 0; j < n; j++) {
          if (ref.margin[j]! < 1e-5) {
            ambiguous++;
            continue;
          }
          expect(Math.abs(out[j]! - ref.out[j]!)).toBeLessThanOrEqual(1e-6 * ref.scale[j]!);
        }
        expect(ambiguous).toBeLessThanOrEqual(2);
      }
    }
  });

  it('with every task vector on the same side, density 1 equals normalised task arithmetic', () => {
    const n = 3001;
    const base = seededFloats(rng, n);
    const magnitudes = [0, 1, 2].map(() => seededFloats(rng, n));
    const sign = seededFloats(rng, n);
    const models = magnitudes.map((m) => Float32Array.from(m, (x, j) => base[j]! + Math.sign(sign[j]!) * Math.abs(x)));
    const weights = [0.7, 1.3, 1];
    const ta = new Float32Array(n);
    taskArithmeticMerge(models, base, ta, { weights, normalize: true, lambda: 0.8 });
    const out = ties(models, base, { weights, lambda: 0.8 });
    for (let j = 0; j < n; j++) expect(Math.abs(out[j]! - ta[j]!)).toBeLessThanOrEqual(4e-7 * (Math.abs(base[j]!) + 4));
  });

  it('rejects densities outside [0, 1] and per-model arrays of the wrong length', () => {
    const m = seededFloats(rng, 4);
    expect(() => ties([m], seededFloats(rng, 4), { density: 1.5 })).toThrow(KernelParamsError);
    expect(() => ties([m], seededFloats(rng, 4), { density: [0.5, 0.5] })).toThrow(KernelParamsError);
  });
});
