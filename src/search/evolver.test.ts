/**
 * Evolver logic on the CPU population with a synthetic fitness (closeness to a
 * hidden target vector), so acceptance rules can be checked exactly.
 */
import { describe, expect, it } from 'vitest';
import { fit } from '../testing/fitness';
import { DEFAULT_SETTINGS } from '../protocol/settings';
import { CpuPopulation } from '../population/cpu-population';
import { CpuMerger } from '../merge/cpu-merger';
import { DEFAULT_MERGE } from '../protocol/settings';
import { isBetter, mutantRoles, runEvolver } from './evolver';
import { CounterRng } from '../kernels/rng/rng.cpu';
import type { ParameterLayout } from '../merge/layout';
import type { WeightSetId } from '../protocol/results';
import type { EvolverSettings } from '../protocol/settings';
import type { Fitness } from '../protocol/results';
import { mulberry32 } from '../testing/seeded';

const layout: ParameterLayout = {
  slots: [
    { name: 'a', dims: [3, 5], size: 15, offset: 0, depth: 0, layer: 'l0' },
    { name: 'b', dims: [22], size: 22, offset: 15, depth: 1, layer: 'l1' },
  ],
  totalSize: 37,
};

function setup(seed: number, n = 4) {
  const rand = mulberry32(seed);
  const target = Float32Array.from({ length: layout.totalSize }, () => rand() * 2 - 1);
  const individuals = Array.from({ length: n }, () => Float32Array.from(target, (t) => t + (rand() * 2 - 1)));
  const population = new CpuPopulation(layout, individuals, new CpuMerger(layout, DEFAULT_MERGE, null));
  const fitnessOf = async (set: WeightSetId): Promise<Fitness> => {
    const flat = await population.read(set);
    let d = 0;
    for (let i = 0; i < flat.length; i++) d += (flat[i] - target[i]) ** 2;
    return fit(1 / (1 + d), 0);
  };
  return { population, fitnessOf };
}

const base: EvolverSettings = { ...DEFAULT_SETTINGS, f: 0.5, cr: 0.5, generations: 6, seed: 7, mode: 'merged', merger: DEFAULT_MERGE };

describe('runEvolver', () => {
  it('merged mode: the merged score never decreases and only strict improvements are accepted', async () => {
    const { population, fitnessOf } = setup(1);
    const generations: number[] = [];
    const outcome = await runEvolver(population, base, {
      score: fitnessOf,
      onProgress: (e) => {
        if (e.type === 'generation') generations.push(e.stat.merged);
      },
    });
    expect(outcome.offspring).toBe(6 * 4);
    expect(outcome.evaluations).toBe(4 + 1 + 6 * 4);
    for (let i = 1; i < generations.length; i++) expect(generations[i]).toBeGreaterThanOrEqual(generations[i - 1]);
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.resultFitness.values[0]).toBeGreaterThan(outcome.initialMergeFitness.values[0]);
    // The result set really holds the reported fitness.
    expect((await fitnessOf(outcome.result)).values[0]).toBe(outcome.resultFitness.values[0]);
  });

  it('individual mode: each individual only improves, the result is the best individual', async () => {
    const { population, fitnessOf } = setup(2);
    const before = await Promise.all([0, 1, 2, 3].map(fitnessOf));
    const outcome = await runEvolver(population, { ...base, mode: 'individual' }, { score: fitnessOf });
    const after = await Promise.all([0, 1, 2, 3].map(fitnessOf));
    after.forEach((f, i) => expect(f.values[0]).toBeGreaterThanOrEqual(before[i].values[0]));
    expect(typeof outcome.result).toBe('number');
    expect(outcome.resultFitness.values[0]).toBe(Math.max(...after.map((f) => f.values[0])));
  });

  it('one seed reproduces the whole run; another seed gives another run', async () => {
    const run = async (seed: number) => {
      const { population, fitnessOf } = setup(3);
      const outcome = await runEvolver(population, { ...base, seed }, { score: fitnessOf });
      return { history: outcome.history, weights: await population.read(outcome.result) };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(b.history).toEqual(a.history);
    expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
    expect(Array.from(c.weights)).not.toEqual(Array.from(a.weights));
  });

  it('stops between offspring when asked', async () => {
    const { population, fitnessOf } = setup(4);
    let calls = 0;
    const outcome = await runEvolver(population, base, { score: fitnessOf, shouldStop: () => ++calls > 5 });
    expect(outcome.stopped).toBe(true);
    expect(outcome.offspring).toBe(5);
  });

  it('compares fitness in the task order: accuracy, then macro-F1', () => {
    expect(isBetter(fit(0.9, 0.1), fit(0.8, 0.9))).toBe(true);
    expect(isBetter(fit(0.9, 0.5), fit(0.9, 0.4))).toBe(true);
    expect(isBetter(fit(0.9, 0.4), fit(0.9, 0.4))).toBe(false);
  });

  it.each(['interpolate', 'rand1', 'best1'] as const)('%s (and its jDE form) improves the best individual and reproduces from its seed', async (mutation) => {
    for (const adaptive of [false, true]) {
      const run = async () => {
        const { population, fitnessOf } = setup(21, 5);
        const outcome = await runEvolver(population, { ...base, mode: 'individual', mutation, adaptive, generations: 15 }, { score: fitnessOf });
        return { outcome, weights: await population.read(outcome.result) };
      };
      const a = await run();
      const b = await run();
      expect(a.outcome.resultFitness.values[0]).toBeGreaterThan(Math.max(...a.outcome.initialIndividualFitness.map((f) => f.values[0])));
      expect(b.outcome.history).toEqual(a.outcome.history);
      expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
      if (adaptive) {
        const fs = a.outcome.history.map((h) => h.adaptive!.f);
        expect(fs.every((f) => f >= 0.1 && f < 1)).toBe(true);
        // Some individual adopted a resampled F: the mean moved off the starting 0.5.
        expect(fs.some((f) => f !== 0.5)).toBe(true);
      } else {
        expect(a.outcome.history[0]!.adaptive).toBeUndefined();
      }
    }
  });

  it('mutant roles: the interpolation targets a peer; DE/rand/1 avoids the target with four or more; plus ≠ minus always', () => {
    const rng = new CounterRng(5, 1);
    for (let draw = 0; draw < 200; draw++) {
      for (const n of [2, 3, 4, 6]) {
        const target = draw % n;
        const interp = mutantRoles(rng, { ...base, mutation: 'interpolate' }, n, target, 0);
        expect(interp.base).toBe(target);
        expect(interp.minus).toBe(target);
        expect(interp.plus).not.toBe(target);
        const rand = mutantRoles(rng, { ...base, mutation: 'rand1' }, n, target, 0);
        expect(rand.plus).not.toBe(rand.minus);
        if (n >= 4) expect([rand.base, rand.plus, rand.minus]).not.toContain(target);
        if (n >= 3) expect(new Set([rand.base, rand.plus, rand.minus]).size).toBe(3);
        const best = mutantRoles(rng, { ...base, mutation: 'best1' }, n, target, n - 1);
        expect(best.base).toBe(n - 1);
        expect(best.plus).not.toBe(best.minus);
        if (n >= 4) expect([best.plus, best.minus]).not.toContain(target);
      }
    }
  });

  it('stops on its evaluation budget, the starting evaluations included', async () => {
    for (const mode of ['merged', 'individual'] as const) {
      const { population, fitnessOf } = setup(8);
      const outcome = await runEvolver(population, { ...base, mode, generations: 50, budget: 17 }, { score: fitnessOf });
      expect(outcome.stopReason).toBe('budget');
      expect(outcome.evaluations).toBeLessThanOrEqual(17);
      expect(outcome.evaluations).toBeGreaterThanOrEqual(17 - 4);
    }
  });

  it('stops after `patience` generations without a better score', async () => {
    const { population } = setup(9);
    // A flat fitness: nothing is ever strictly better.
    const outcome = await runEvolver(population, { ...base, generations: 20, patience: 2 }, { score: async () => (fit(0.5, 0.5)) });
    expect(outcome.stopReason).toBe('patience');
    expect(outcome.history.length).toBe(1 + 2);
    expect(outcome.accepted).toBe(0);
  });

  it('reports per-generation extras from afterGeneration for generation 0 and each generation', async () => {
    const { population, fitnessOf } = setup(10);
    const seen: [number, string | number][] = [];
    const outcome = await runEvolver(population, { ...base, generations: 2 }, {
      score: fitnessOf,
      afterGeneration: async (generation, result) => {
        seen.push([generation, result]);
        return { kinship: { population: 0.25 * generation, bestToParents: 1 } };
      },
    });
    expect(seen).toEqual([
      [0, 'merged'],
      [1, 'merged'],
      [2, 'merged'],
    ]);
    expect(outcome.history.map((h) => h.kinship?.population)).toEqual([0, 0.25, 0.5]);
  });
});
