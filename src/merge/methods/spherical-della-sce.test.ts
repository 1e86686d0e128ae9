/**
 * The della, della_linear, sce, nuslerp, multislerp and karcher entries wired through the
 * registry and the CPU merger: each tensor's params, offset and shape reach the kernel, and
 * the results match the kernels called directly.
 */
import { describe, expect, it } from 'vitest';
import { CpuMerger } from '../cpu-merger';
import { findMethod, withMethod } from '../registry';
import type { ParameterLayout } from '../layout';
import { DEFAULT_MERGE, type MergeParams } from '../../protocol/settings';
import { CounterRng } from '../../kernels/rng/rng.cpu';
import { seededFloats } from '../../kernels/testing';
import { dellaMerge } from '../../kernels/task-vector/della.cpu';
import { sceMerge } from '../../kernels/sce/sce.cpu';
import { karcherMerge, multislerpMerge, nuslerpMerge } from '../../kernels/spherical/spherical.cpu';
import { nuslerpRowsMerge } from '../../kernels/spherical/spherical-rows.cpu';
import type { MergeMethodDef } from '../method';
import { della as dellaDef } from './della';
import { dellaLinear as dellaLinearDef } from './della-linear';

const layout: ParameterLayout = {
  slots: [
    { name: 'w', dims: [13, 11], size: 143, offset: 0, depth: 0, layer: 'l0' },
    { name: 'b', dims: [29], size: 29, offset: 143, depth: 1, layer: 'l1' },
  ],
  totalSize: 172,
};

function data(count: number) {
  const rng = new CounterRng(4, 4);
  const base = seededFloats(rng, layout.totalSize);
  const models = Array.from({ length: count }, () => Float32Array.from(seededFloats(rng, layout.totalSize, 0.01, 0.5), (d, j) => base[j]! + d));
  return { base, models };
}

function merged(params: MergeParams, models: Float32Array[], base: Float32Array | null): Float32Array {
  const out = new Float32Array(layout.totalSize);
  new CpuMerger(layout, params, base).mergeInto(out, models);
  return out;
}

/** As CpuMerger does, for an entry that may not be registered yet (della waits for DEFAULT_MERGE's epsilon). */
function mergedBy(def: MergeMethodDef, params: MergeParams, models: Float32Array[], base: Float32Array): Float32Array {
  const out = new Float32Array(layout.totalSize);
  for (const slot of layout.slots) {
    const v = (f: Float32Array) => f.subarray(slot.offset, slot.offset + slot.size);
    def.cpu({ name: slot.name, offset: slot.offset, dims: slot.dims, params, models: models.map(v), base: v(base), out: v(out) }, null);
  }
  return out;
}

/** Per tensor, what the kernel gives called directly. */
function direct(models: Float32Array[], base: Float32Array | null, run: (ms: Float32Array[], b: Float32Array | null, out: Float32Array, slot: ParameterLayout['slots'][number]) => void) {
  const out = new Float32Array(layout.totalSize);
  for (const slot of layout.slots) {
    const v = (f: Float32Array) => f.subarray(slot.offset, slot.offset + slot.size);
    run(models.map(v), base ? v(base) : null, v(out), slot);
  }
  return out;
}

describe('new method entries', () => {
  it('are registered with mergekit names and defaults', () => {
    for (const id of ['della', 'della_linear', 'sce', 'nuslerp', 'multislerp', 'karcher']) expect(findMethod(id)?.id).toBe(id);
    const declared = (id: string) => findMethod(id)!.params.map((p) => p.key as string);
    expect(dellaDef.params.some((p) => (p.key as string) === 'epsilon')).toBe(true);
    for (const [id, key] of [['sce', 'select_topk'], ['karcher', 'max_iter'], ['karcher', 'tol'], ['multislerp', 'eps']] as const) {
      expect(declared(id)).toContain(key);
      expect(typeof (DEFAULT_MERGE as unknown as Record<string, unknown>)[key]).toBe('number');
    }
    expect(findMethod('nuslerp')!.options!.map((o) => o.key)).toEqual(['nuslerp_flatten', 'nuslerp_row_wise']);
  });

  it('read keys DEFAULT_MERGE lacks when given, mergekit defaults otherwise', () => {
    const { base, models } = data(3);
    const della = (extra: Record<string, number>) => mergedBy(dellaDef, { ...DEFAULT_MERGE, method: 'della', lambda: 1, density: 0.5, seed: 2, ...extra } as MergeParams, models, base);
    const want = (epsilon: number) =>
      direct(models, base, (ms, b, out, slot) => dellaMerge(ms, b!, out, { density: 0.5, epsilon, seed: 2, offset: slot.offset, dims: slot.dims, consensus: 'ties', normalize: true, lambda: 1, rescale: true }));
    expect(della({})).toEqual(want(0.15));
    expect(della({ epsilon: 0.4 })).toEqual(want(0.4));
  });

  it('della and della_linear rank along each tensor’s axis 1 and draw from the tensor’s offset', () => {
    const { base, models } = data(3);
    for (const [def, consensus, normalize] of [[dellaDef, 'ties', true], [dellaLinearDef, 'none', false]] as const) {
      const params = { ...DEFAULT_MERGE, method: def.id, density: 0.5, seed: 7, weights: [1, 2, 0.5] } as MergeParams;
      const want = direct(models, base, (ms, b, out, slot) =>
        dellaMerge(ms, b!, out, { density: 0.5, epsilon: 0.15, seed: 7, offset: slot.offset, dims: slot.dims, consensus, normalize, weights: [1, 2, 0.5], lambda: 1, rescale: true }),
      );
      expect(mergedBy(def, params, models, base)).toEqual(want);
    }
  });

  it('sce', () => {
    const { base, models } = data(3);
    const params = { ...withMethod(DEFAULT_MERGE, 'sce'), select_topk: 0.4 } as unknown as MergeParams;
    expect(merged(params, models, base)).toEqual(direct(models, base, (ms, b, out) => sceMerge(ms, b!, out, { selectTopk: 0.4 })));
  });

  it('nuslerp flattened and by rows, multislerp, karcher', () => {
    const { base, models } = data(3);
    const two = models.slice(0, 2);
    const nu = { ...withMethod(DEFAULT_MERGE, 'nuslerp'), weights: [1, 3] } as MergeParams;
    expect(merged(nu, two, base)).toEqual(direct(two, base, (ms, b, out) => nuslerpMerge(ms, b, out, { weights: [1, 3] })));
    const rows = { ...nu, nuslerp_flatten: false, nuslerp_row_wise: true } as unknown as MergeParams;
    expect(merged(rows, two, null)).toEqual(direct(two, null, (ms, b, out, slot) => nuslerpRowsMerge(ms, b, out, slot.dims, true, { weights: [1, 3] })));
    const ms = { ...withMethod(DEFAULT_MERGE, 'multislerp'), weights: [1, 2, 3] } as MergeParams;
    expect(merged(ms, models, base)).toEqual(direct(models, base, (m, b, out) => multislerpMerge(m, b, out, { weights: [1, 2, 3], normalizeWeights: true, eps: 1e-8 })));
    const k = { ...withMethod(DEFAULT_MERGE, 'karcher'), max_iter: 3 } as unknown as MergeParams;
    expect(merged(k, models, null)).toEqual(direct(models, null, (m, _b, out) => karcherMerge(m, out, { maxIter: 3, tol: 1e-5 })));
  });
});
