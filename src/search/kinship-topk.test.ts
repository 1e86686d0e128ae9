/**
 * Top-k kinship merging on the CPU population with a synthetic fitness (closeness to a
 * hidden target) and the real kinship of the task vectors, so its bookkeeping can be
 * checked exactly: which pairs it merges, what it keeps, when it stops.
 */
import { describe, expect, it } from 'vitest';
import { fit } from '../testing/fitness';
import { CpuPopulation } from '../population/cpu-population';
import { CpuMerger } from '../merge/cpu-merger';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { describeLineage, runKinshipTopK, type TopKHooks } from './kinship-topk';
import { kinshipReport } from './kinship';
import { type KinshipMetrics } from '../protocol/results';
import type { ParameterLayout } from '../merge/layout';
import type { WeightSetId } from '../protocol/results';
import { DEFAULT_SETTINGS, type EvolverSettings } from '../protocol/settings';
import { type Fitness } from '../protocol/results';
import { mulberry32 } from '../testing/seeded';

const layout: ParameterLayout = {
  slots: [
    { name: 'a', dims: [4, 5], size: 20, offset: 0, depth: 0, layer: 'l0' },
    { name: 'b', dims: [13], size: 13, offset: 20, depth: 1, layer: 'l1' },
  ],
  totalSize: 33,
};

function setup(seed: number, n: number, merger: MergeParams = DEFAULT_MERGE) {
  const rand = mulberry32(seed);
  const target = Float32Array.from({ length: layout.totalSize }, () => rand() * 2 - 1);
  const seeds = Array.from({ length: n }, () => Float32Array.from(target, (t) => t + (rand() * 2 - 1)));
  const store = new CpuPopulation(layout, seeds, new CpuMerger(layout, merger, null));
  const score = async (set: WeightSetId): Promise<Fitness> => {
    const flat = await store.read(set);
    let d = 0;
    for (let i = 0; i < flat.length; i++) d += (flat[i]! - target[i]!) ** 2;
    return fit(1 / (1 + d), 0);
  };
  const offered: { names: string[]; pearson: number[] }[] = [];
  const reports: number[] = [];
  const kinship: TopKHooks['kinship'] = async (sets, names, report) => {
    const matrix = kinshipReport(names, layout, await store.kinshipMoments(sets, 'initial-mean'), { kind: 'population-mean', label: '' }).overall;
    if (report) reports.push(report.round);
    else if (names[0] !== 'child') offered.push({ names: [...names], pearson: matrix[0]!.map((m: KinshipMetrics) => m.pearson) });
    return matrix;
  };
  return { store, score, kinship, offered, reports };
}

const settings: EvolverSettings = { ...DEFAULT_SETTINGS, strategy: 'kinship_topk', generations: 10, topK: 3 };
const names = (n: number) => Array.from({ length: n }, (_, i) => `seed${i}`);

describe('runKinshipTopK', () => {
  it('round 1 merges every pair of seeds; later rounds merge untried top-k pairs plus one exploration merge', async () => {
    const { store, score, kinship, reports } = setup(1, 4);
    const outcome = await runKinshipTopK(store, names(4), settings, { score, kinship });
    const merges = outcome.lineage.filter((l) => l.parents);
    const round1 = merges.filter((l) => l.round === 1);
    // 6 seed pairs plus the exploration merge of round 1 (whose pair is then already taken, so none).
    expect(round1.filter((l) => !l.exploration)).toHaveLength(6);
    expect(round1.every((l) => l.parents!.every((p) => p < 4))).toBe(true);
    // No pair is ever merged twice.
    const keys = merges.map((l) => [...l.parents!].sort((a, b) => a - b).join('|'));
    expect(new Set(keys).size).toBe(keys.length);
    // The result is the best model made, and its weights really score what the lineage says.
    const best = outcome.lineage.reduce((b, l) => (l.fitness.values[0] > b.fitness.values[0] ? l : b));
    expect(outcome.resultNode).toBe(best);
    expect((await score(outcome.result)).values[0]).toBe(outcome.resultFitness.values[0]);
    expect(outcome.lineage.filter((l) => l.inTopK)).toHaveLength(3);
    // Averaging noisy copies of a target approaches it: merging beats every seed.
    expect(outcome.resultFitness.values[0]).toBeGreaterThan(Math.max(...outcome.seedFitness.map((f) => f.values[0])));
    expect(['converged', 'completed']).toContain(outcome.stopReason);
    expect(reports[0]).toBe(0);
    expect(outcome.history.map((h) => h.generation)).toEqual(reports);
    expect(outcome.evaluations).toBe(4 + merges.length);
    for (const m of merges) {
      expect(m.kinshipToParents!.every((v) => v > -1 && v <= 1)).toBe(true);
      expect(m.parentKinship).toBeGreaterThanOrEqual(-1);
    }
    expect(describeLineage(outcome.lineage, outcome.resultNode.id)[0]).toMatch(/^m\d+ = merge\(/);
  });

  it('explores with the partner of lowest kinship to the best among those offered', async () => {
    const { store, score, kinship, offered } = setup(2, 5);
    const outcome = await runKinshipTopK(store, names(5), { ...settings, topK: 2 }, { score, kinship });
    const explorations = outcome.lineage.filter((l) => l.exploration);
    expect(explorations.length).toBeGreaterThan(0);
    expect(offered).toHaveLength(explorations.length);
    explorations.forEach((node, i) => {
      const offer = offered[i]!;
      const [best, partner] = node.parents!.map((p) => outcome.lineage[p]!.name);
      expect(offer.names[0]).toBe(best);
      const partnerKinship = offer.pearson[offer.names.indexOf(partner!)]!;
      expect(partnerKinship).toBe(Math.min(...offer.pearson.slice(1)));
    });
  });

  it('keeps to its evaluation budget and its round limit', async () => {
    const { store, score, kinship } = setup(3, 4);
    const budgeted = await runKinshipTopK(store, names(4), { ...settings, budget: 7 }, { score, kinship });
    expect(budgeted.stopReason).toBe('budget');
    expect(budgeted.evaluations).toBe(7);
    const { store: s2, score: sc2, kinship: k2 } = setup(3, 4);
    const oneRound = await runKinshipTopK(s2, names(4), { ...settings, generations: 1 }, { score: sc2, kinship: k2 });
    expect(oneRound.history.map((h) => h.generation)).toEqual([0, 1]);
    expect(Math.max(...oneRound.lineage.map((l) => l.round))).toBe(1);
  });

  it('is deterministic: the same inputs give the same lineage', async () => {
    const run = async () => {
      const { store, score, kinship } = setup(4, 4);
      return (await runKinshipTopK(store, names(4), settings, { score, kinship })).lineage;
    };
    expect(await run()).toEqual(await run());
  });
});
