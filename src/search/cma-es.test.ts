/**
 * CMA-ES on the standard test functions, at the evaluation counts the published results give
 * for the (μ/μ_w, λ)-CMA-ES with default parameters (Hansen's tutorial and the benchmarks of
 * Hansen & Kern 2004): 10-D sphere to 1e-10 in under 2,500 evaluations, 10-D Rosenbrock to
 * 1e-8 in under 10^4, and Rastrigin solved with a large population where the default one is
 * trapped in a local minimum. Then the bounds' mirroring and one seed's determinism.
 */
import { describe, expect, it } from 'vitest';
import { CmaEs, CmaEsError, minimize, reflectInto, symmetricEigen } from './cma-es';

const sphere = (x: readonly number[]) => x.reduce((s, v) => s + v * v, 0);
const rosenbrock = (x: readonly number[]) => {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i]! ** 2 - x[i + 1]!) ** 2 + (1 - x[i]!) ** 2;
  return s;
};
const rastrigin = (x: readonly number[]) => 10 * x.length + x.reduce((s, v) => s + v * v - 10 * Math.cos(2 * Math.PI * v), 0);

describe('CMA-ES on the test functions', () => {
  it('solves the 10-D sphere to 1e-10 in the published number of evaluations', () => {
    for (const seed of [1, 2, 3]) {
      const r = minimize(sphere, { mean: new Array(10).fill(1), sigma: 0.5, seed, maxEvaluations: 10_000, target: 1e-10 });
      expect(r.stop).toBe('target');
      expect(r.f).toBeLessThanOrEqual(1e-10);
      expect(r.evaluations).toBeGreaterThan(1000);
      expect(r.evaluations).toBeLessThan(2500);
    }
  });

  it('solves the 10-D Rosenbrock function to 1e-8 in under 10^4 evaluations', () => {
    for (const seed of [1, 2, 3]) {
      const r = minimize(rosenbrock, { mean: new Array(10).fill(0), sigma: 0.5, seed, maxEvaluations: 20_000, target: 1e-8 });
      expect(r.stop).toBe('target');
      expect(r.evaluations).toBeLessThan(10_000);
      for (const v of r.x) expect(v).toBeCloseTo(1, 3);
    }
  });

  it('solves Rastrigin with a large population, where the default population is trapped', () => {
    const start = { mean: new Array(5).fill(3), sigma: 2, maxEvaluations: 20_000, target: 1e-8 };
    for (const seed of [1, 2, 3]) {
      const large = minimize(rastrigin, { ...start, seed, populationSize: 100 });
      expect(large.stop).toBe('target');
      expect(large.evaluations).toBeLessThan(10_000);
      const small = minimize(rastrigin, { ...start, seed });
      expect(small.f).toBeGreaterThan(0.5);
    }
    const tenD = minimize(rastrigin, { mean: new Array(10).fill(3), sigma: 4, seed: 2, populationSize: 200, maxEvaluations: 60_000, target: 1e-8 });
    expect(tenD.stop).toBe('target');
  });
});

describe('CMA-ES mechanics', () => {
  it('gives the same points and the same result for one seed, other points for another', () => {
    const run = (seed: number) => minimize(rosenbrock, { mean: [0, 0, 0, 0], sigma: 0.3, seed, maxEvaluations: 600 });
    expect(run(7)).toEqual(run(7));
    expect(run(7).x).not.toEqual(run(8).x);
    const a = new CmaEs({ mean: [0, 0], sigma: 1, seed: 5 });
    const b = new CmaEs({ mean: [0, 0], sigma: 1, seed: 5 });
    expect(a.ask()).toEqual(b.ask());
    expect(a.ask()).toBe(a.ask());
  });

  it('keeps every point inside the bounds and reaches an optimum on a bound', () => {
    const bounds = { lower: [0, 0, 0], upper: [1, 2, 1] };
    const es = new CmaEs({ mean: [1, 1, 0.5], sigma: 0.5, seed: 3, bounds });
    for (const s of es.ask()) s.x.forEach((v, i) => expect(v >= bounds.lower[i]! && v <= bounds.upper[i]!).toBe(true));
    // Optimum at the upper corner of the first coordinate, the lower of the second.
    const f = (x: readonly number[]) => (x[0]! - 1.5) ** 2 + (x[1]! + 1) ** 2 + (x[2]! - 0.25) ** 2;
    const r = minimize(f, { mean: [0.5, 1, 0.5], sigma: 0.3, seed: 4, bounds, maxEvaluations: 3000, target: 1.25 + 1e-9 });
    expect(r.x[0]).toBeCloseTo(1, 4);
    expect(r.x[1]).toBeCloseTo(0, 4);
    expect(r.x[2]).toBeCloseTo(0.25, 4);
  });

  it('mirrors values into a range', () => {
    expect(reflectInto(0.5, 0, 1)).toBe(0.5);
    expect(reflectInto(1.25, 0, 1)).toBeCloseTo(0.75);
    expect(reflectInto(-0.25, 0, 1)).toBeCloseTo(0.25);
    expect(reflectInto(2.25, 0, 1)).toBeCloseTo(0.25);
    expect(reflectInto(-1.75, 0, 2)).toBeCloseTo(1.75);
  });

  it('decomposes a symmetric matrix', () => {
    const c = [Float64Array.from([4, 1, 0]), Float64Array.from([1, 3, 1]), Float64Array.from([0, 1, 2])];
    const { values, vectors } = symmetricEigen(c);
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < 3; i++) {
        let cv = 0;
        for (let j = 0; j < 3; j++) cv += c[i]![j]! * vectors[j]![k]!;
        expect(cv).toBeCloseTo(values[k]! * vectors[i]![k]!, 10);
      }
    }
    expect([...values].reduce((a, b) => a + b)).toBeCloseTo(9, 10);
  });

  it('refuses a ranking that is not one of the points asked', () => {
    const es = new CmaEs({ mean: [0, 0], sigma: 1, seed: 1 });
    expect(() => es.tell([0, 1])).toThrow(CmaEsError);
    es.ask();
    expect(() => es.tell([0, 0, 1, 2, 3, 4])).toThrow(/ranking/);
    expect(() => new CmaEs({ mean: [], sigma: 1, seed: 1 })).toThrow(/coordinate/);
  });
});
