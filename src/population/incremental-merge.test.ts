/**
 * Incremental merges (incremental-merge.ts) against full re-merges: the same DE trials and
 * accepts on two CPU populations, one updating the merged set by the candidate's weighted
 * difference, one re-merging every individual. Every scored merge stays within the stated
 * per-element bound of the re-merge; the population's merge after accepts is bit-identical
 * (M is always re-merged in full); and only linear and task arithmetic with ≥ 4 models take it.
 */
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { seededFloats } from '../kernels/testing';
import { CpuMerger } from '../merge/cpu-merger';
import type { ParameterLayout } from '../merge/layout';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { CpuPopulation } from './cpu-population';
import { IncrementalLinearUpdate, INCREMENTAL_MIN_MODELS, linearMergePlan } from './incremental-merge';
import { mergePopulation } from './make-population';

const SIZE = 4099;
const layout: ParameterLayout = {
  slots: [
    { name: 'embed.weight', dims: [3, 1000], size: 3000, offset: 0, depth: 0, layer: 'embed' },
    { name: 'layer.0.weight', dims: [1000], size: 1000, offset: 3000, depth: 0.5, layer: 'layer.0' },
    { name: 'head.weight', dims: [99], size: 99, offset: 4000, depth: 1, layer: 'head' },
  ],
  totalSize: SIZE,
};

const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

/** Models around a shared base with task vectors of very different scales: sums cancel and round. */
function models(n: number, seed: number): { flats: Float32Array[]; base: Float32Array } {
  const rng = new CounterRng(seed, 5);
  const base = seededFloats(rng, SIZE, 0.01, 3);
  const flats = Array.from({ length: n }, (_, i) => {
    const delta = seededFloats(rng, SIZE, 1e-6, 10 ** (i % 3) * 0.05);
    return base.map((b, j) => b + delta[j]!);
  });
  return { flats, base };
}

interface Case {
  label: string;
  params: MergeParams;
}

const CASES: Case[] = [
  { label: 'linear, normalized, weighted', params: { ...DEFAULT_MERGE, method: 'linear', weights: [0.7, 1.3, 0.25, 2, 1] } },
  { label: 'linear, not normalized', params: { ...DEFAULT_MERGE, method: 'linear', normalize: false } as MergeParams },
  { label: 'task arithmetic, λ per depth', params: { ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 0.6, weights: [1, 0.5, 1.5, 1, 0.3], rules: { lambda: [0.3, 1.1] } } },
  { label: 'task arithmetic, normalized', params: { ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 1, normalize: true } as MergeParams },
];

describe('incremental merges against re-merges', () => {
  it.each(CASES)('$label: every scored merge within the bound, the population merge bit-identical', async ({ params }) => {
    const n = 5;
    const { flats, base } = models(n, 0xbead);
    const update = IncrementalLinearUpdate.for(params, layout, n, true);
    expect(update).not.toBeNull();
    const incremental = new CpuPopulation(layout, flats, new CpuMerger(layout, params, base), base, update);
    const remerge = new CpuPopulation(layout, flats, new CpuMerger(layout, params, base), base);
    expect(incremental.mergePath).toBe('incremental');
    expect(remerge.mergePath).toBe('re-merge');
    const usesBase = params.method === 'task_arithmetic';

    await incremental.merge(null);
    await remerge.merge(null);
    expect(bits((await incremental.read('merged')))).toEqual(bits(await remerge.read('merged')));

    const rng = new CounterRng(11, 3);
    let differing = 0;
    let worstRatio = 0;
    for (let offspring = 1; offspring <= 24; offspring++) {
      const target = rng.nextInt(n);
      const others = [0, 1, 2, 3, 4].filter((i) => i !== target);
      const roles = { target, base: others[0]!, plus: others[1 + rng.nextInt(2)]!, minus: others[3]! };
      const mutation = { f: 0.5, cr: 0.5, seed: 42, stream: offspring, jRand: rng.nextInt(SIZE) };
      incremental.trial(roles, mutation);
      remerge.trial(roles, mutation);
      await incremental.merge(target);
      await remerge.merge(target);
      const got = await incremental.read('merged');
      const want = await remerge.read('merged');
      const individuals = await Promise.all(Array.from({ length: n }, (_, i) => incremental.read(i)));
      const candidate = await incremental.read('candidate');
      // M, the population merge the update started from: the re-merge of merge(null) with no replacement.
      const populationMerge = new Float32Array(SIZE);
      new CpuMerger(layout, params, base).mergeInto(populationMerge, individuals);
      layout.slots.forEach((slot, s) => {
        for (let j = slot.offset; j < slot.offset + slot.size; j++) {
          const diff = Math.abs(got[j]! - want[j]!);
          if (diff === 0) continue;
          differing++;
          const bound = update!.errorBound(individuals, candidate, target, usesBase ? base : null, populationMerge, j, s);
          worstRatio = Math.max(worstRatio, diff / bound);
          expect(diff, `element ${j} after offspring ${offspring}`).toBeLessThanOrEqual(bound);
        }
      });
      if (offspring % 3 !== 0) continue;
      incremental.accept(target);
      remerge.accept(target);
      // After an accept, the merge of the population is a full re-merge on both: bit for bit.
      await incremental.merge(null);
      await remerge.merge(null);
      expect(bits(await incremental.read('merged'))).toEqual(bits(await remerge.read('merged')));
    }
    // The update does round differently somewhere (else this test would prove nothing), and
    // stays well inside the bound.
    expect(differing).toBeGreaterThan(0);
    expect(worstRatio).toBeLessThan(1);
  });

  it('without merger (accepts not preceded by merge(t)) the population merge is re-merged before the next update', async () => {
    const params: MergeParams = { ...DEFAULT_MERGE, method: 'linear' };
    const { flats } = models(4, 7);
    const update = IncrementalLinearUpdate.for(params, layout, 4, false)!;
    const incremental = new CpuPopulation(layout, flats, new CpuMerger(layout, params, null), null, update);
    const remerge = new CpuPopulation(layout, flats, new CpuMerger(layout, params, null), null);
    await incremental.merge(null);
    for (const pop of [incremental, remerge]) {
      pop.trial({ target: 1, base: 0, plus: 2, minus: 3 }, { f: 0.7, cr: 0.9, seed: 1, stream: 1, jRand: 5 });
      pop.accept(1);
      pop.trial({ target: 2, base: 1, plus: 0, minus: 3 }, { f: 0.7, cr: 0.9, seed: 1, stream: 2, jRand: 9 });
      await pop.merge(2);
    }
    const got = await incremental.read('merged');
    const want = await remerge.read('merged');
    const individuals = await Promise.all([0, 1, 2, 3].map((i) => incremental.read(i)));
    const candidate = await incremental.read('candidate');
    const populationMerge = new Float32Array(SIZE);
    new CpuMerger(layout, params, null).mergeInto(populationMerge, individuals);
    // A stale M (from before the accept) would be off by the accepted change, far past rounding.
    layout.slots.forEach((slot, s) => {
      for (let j = slot.offset; j < slot.offset + slot.size; j++) {
        expect(Math.abs(got[j]! - want[j]!)).toBeLessThanOrEqual(update.errorBound(individuals, candidate, 2, null, populationMerge, j, s));
      }
    });
  });

  it.each(CASES)('$label: the SIMD merges in the population give the TypeScript twins\' bits', async ({ params }) => {
    const { flats, base } = models(5, 0xface);
    const simd = new CpuPopulation(layout, flats, new CpuMerger(layout, params, base), base, null, linearMergePlan(params, layout, 5, true));
    const twins = new CpuPopulation(layout, flats, new CpuMerger(layout, params, base), base);
    expect(simd.linearMergeKernel).toBe('wasm-simd');
    expect(twins.linearMergeKernel).toBeNull();
    for (const pop of [simd, twins]) {
      pop.trial({ target: 3, base: 0, plus: 1, minus: 4 }, { f: 0.5, cr: 0.6, seed: 9, stream: 1, jRand: 17 });
      await pop.merge(3);
    }
    expect(bits(await simd.read('merged'))).toEqual(bits(await twins.read('merged')));
    await simd.merge(null);
    await twins.merge(null);
    expect(bits(await simd.read('merged'))).toEqual(bits(await twins.read('merged')));
  });

  it('only linear and task arithmetic with enough models and no data-aware inputs take the update', () => {
    const n = INCREMENTAL_MIN_MODELS;
    expect(IncrementalLinearUpdate.for({ ...DEFAULT_MERGE, method: 'linear' }, layout, n, false)).not.toBeNull();
    expect(IncrementalLinearUpdate.for({ ...DEFAULT_MERGE, method: 'linear' }, layout, n - 1, false)).toBeNull();
    expect(IncrementalLinearUpdate.for({ ...DEFAULT_MERGE, method: 'task_arithmetic' }, layout, n, false)).toBeNull();
    expect(IncrementalLinearUpdate.for({ ...DEFAULT_MERGE, method: 'linear' }, layout, n, false, { gram: [] })).toBeNull();
    for (const method of ['ties', 'dare_linear', 'slerp', 'model_stock', 'karcher'] as const) {
      expect(IncrementalLinearUpdate.for({ ...DEFAULT_MERGE, method } as MergeParams, layout, n, true)).toBeNull();
    }
    const { flats, base } = models(n, 3);
    const picked = mergePopulation({ device: null, layout, flats, base, params: { ...DEFAULT_MERGE, method: 'task_arithmetic' } });
    expect((picked as CpuPopulation).mergePath).toBe('incremental');
    const three = mergePopulation({ device: null, layout, flats: flats.slice(0, 3), base, params: { ...DEFAULT_MERGE, method: 'task_arithmetic' } });
    expect((three as CpuPopulation).mergePath).toBe('re-merge');
  });
});
