/**
 * The breadcrumbs CPU twin held to a straightforward reference: sort each task vector by
 * magnitude, drop the bottom and the top ranks as the definition says, sum (or vote) in
 * f64. Ties in magnitude (quantised deltas) check the tie order: by index, as in
 * magnitude-select.cpu.ts.
 */
import { describe, expect, it } from 'vitest';
import { breadcrumbsCounts, breadcrumbsMerge, type BreadcrumbsParams } from './breadcrumbs.cpu';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';

/** Which entries of tau the definition keeps: sorted ascending by |τ| (ties: later index first), ranks [bottom, n − top). */
function referenceBand(tau: Float32Array, density: number, gamma: number): boolean[] {
  const n = tau.length;
  if (density >= 1) return new Array<boolean>(n).fill(true);
  const target = Math.floor(density * n);
  let top = Math.floor(gamma * n);
  let bottom = n - target - top;
  if (bottom < 0) {
    top += bottom;
    bottom = 0;
  }
  const ascending = Array.from({ length: n }, (_, j) => j).sort((a, b) => Math.abs(tau[a]!) - Math.abs(tau[b]!) || b - a);
  const keep = new Array<boolean>(n).fill(false);
  for (const j of ascending.slice(bottom, n - top)) keep[j] = true;
  return keep;
}

function reference(models: Float32Array[], base: Float32Array, p: Required<Pick<BreadcrumbsParams, 'density' | 'gamma' | 'lambda' | 'consensus'>> & { weights: number[] }): Float64Array {
  const n = base.length;
  const contributions = models.map((m, i) => {
    const tau = Float32Array.from(m, (x, j) => x - base[j]!);
    const keep = referenceBand(tau, p.density as number, p.gamma as number);
    return Array.from(tau, (t, j) => (keep[j] ? Math.fround(p.weights[i]! * t) : 0));
  });
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const cs = contributions.map((c) => c[j]!);
    // The vote's sign from the f32 sum (an f64 sum may land on the other side of zero).
    const sum = cs.reduce((a, b) => Math.fround(a + b), 0);
    // TIES vote without normalising (breadcrumbs_ties' default): the agreeing contributions' sum.
    const merged = p.consensus === 'ties' ? cs.filter((c) => c !== 0 && c > 0 === sum >= 0).reduce((a, b) => a + b, 0) : cs.reduce((a, b) => a + b, 0);
    out[j] = base[j]! + p.lambda * merged;
  }
  return out;
}

function inputs(seed: number, n: number, count: number, quantise: boolean) {
  const rng = new CounterRng(seed, 3);
  const base = seededFloats(rng, n);
  const models = Array.from({ length: count }, () => {
    const d = seededFloats(rng, n, 0.001, 0.5);
    // Multiples of 1/16: many equal magnitudes, exact in f32.
    return Float32Array.from(d, (x, j) => base[j]! + (quantise ? Math.round(x * 16) / 16 : x));
  });
  return { base, models };
}

describe('breadcrumbs (CPU) vs a sort-based reference', () => {
  const cases: [number, number, number, boolean][] = [
    // n, density, gamma, quantised
    [1, 0.9, 0.01, false],
    [37, 0.9, 0.01, false],
    [1000, 0.7, 0.05, false],
    [4099, 0.9, 0.01, true],
    [513, 0.95, 0.2, true], // bottom < 0: fewer outliers dropped to keep the density
    [300, 0.5, 0, false],
    [300, 1, 0.3, false], // density 1 keeps all, gamma ignored
    [300, 0, 0.1, false],
  ];
  for (const consensus of ['none', 'ties'] as const) {
    it.each(cases)(`${consensus}: n %i, density %f, gamma %f, quantised %s`, (n, density, gamma, quantise) => {
      const { base, models } = inputs(n * 7 + 1, n, 3, quantise);
      const weights = [1, 0.5, 2];
      const out = new Float32Array(n);
      breadcrumbsMerge(models, base, out, { density, gamma, lambda: 0.8, weights, consensus });
      const want = reference(models, base, { density, gamma, lambda: 0.8, weights, consensus });
      let bad = 0;
      for (let j = 0; j < n; j++) if (!(Math.abs(out[j]! - want[j]!) <= 1e-5 * (1 + Math.abs(want[j]!)))) bad++;
      expect(bad).toBe(0);
    });
  }

  it('keeps exactly ⌊density·n⌋ entries, as mergekit counts them', () => {
    expect(breadcrumbsCounts(0.9, 0.01, 1000)).toEqual({ outer: 910, outliers: 10 });
    expect(breadcrumbsCounts(0.95, 0.2, 100)).toEqual({ outer: 100, outliers: 5 });
    expect(breadcrumbsCounts(1, 0.5, 10)).toEqual({ outer: 10, outliers: 0 });
    expect(() => breadcrumbsCounts(1.5, 0, 10)).toThrow(KernelParamsError);
    const { base, models } = inputs(5, 10, 1, false);
    expect(() => breadcrumbsMerge(models, base, new Float32Array(10), { gamma: -0.1 })).toThrow(KernelParamsError);
  });
});
