/**
 * mergekit's options on the GPU, held to the CPU through the method entries: DARE with the
 * norm-keeping rescale (the dare methods' default, L1; L2 too) by its batched merger (one
 * norm pair read back per tensor and model), and TIES's 'count' vote for ties, dare_ties and
 * breadcrumbs_ties. Tensors: one larger than a reduction tile, one 1-D, one near zero
 * (left unscaled); per-model densities.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import type { StudioDevice } from '../../gpu/device';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';
import { findMethod } from '../../merge/registry';
import { DEFAULT_MERGE, type MergeParams } from '../../protocol/settings';
import type { GpuTensorJob } from '../../merge/method';

let gpu: StudioDevice | null = null;
beforeAll(async () => {
  gpu = await openTestGpu();
});
afterAll(() => gpu?.device.destroy());

const SIZES = [3000, 257, 16];

async function gpuVsCpu(params: MergeParams, kind: 'batched' | 'encoder'): Promise<number[]> {
  const device = gpu!.device;
  const method = findMethod(params.method)!;
  const rng = new CounterRng(9, 3);
  let offset = 0;
  const tensors = SIZES.map((n, t) => {
    const base = seededFloats(rng, n);
    const models = [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, n, 0.01, 0.5), (d, i) => base[i]! + (t === 2 ? 1e-10 * d : d - 0.25)));
    const job = { base, models, offset, dims: [n] };
    offset += n;
    return job;
  });
  const upload = (a: Float32Array) => {
    const b = createWeightBuffer(device, a.length);
    uploadFloats(device, b, a);
    return b;
  };
  const jobs: GpuTensorJob[] = tensors.map((t, i) => ({ name: `t${i}`, offset: t.offset, size: t.base.length, params, models: t.models.map(upload), base: upload(t.base), out: createWeightBuffer(device, t.base.length) }));
  const merger = method.gpu!({ device, layout: { slots: [], totalSize: offset }, modelCount: 3, largest: Math.max(...SIZES), inputs: {}, params });
  expect(merger.kind).toBe(kind);
  if (merger.kind === 'batched') await merger.mergeAll(jobs);
  else {
    const encoder = device.createCommandEncoder();
    for (const j of jobs) merger.encode(encoder, j);
    device.queue.submit([encoder.finish()]);
  }
  const bad: number[] = [];
  for (const [i, t] of tensors.entries()) {
    const want = new Float32Array(t.base.length);
    method.cpu({ name: `t${i}`, offset: t.offset, dims: t.dims, params, models: t.models, base: t.base, out: want }, null);
    const got = await readFloats(device, jobs[i]!.out, t.base.length);
    bad.push(want.reduce((n, w, k) => n + (Math.abs(got[k]! - w) <= 1e-5 * (1 + Math.abs(w)) ? 0 : 1), 0));
  }
  merger.destroy();
  for (const j of jobs) [...j.models, j.base!, j.out].forEach((b) => b.destroy());
  return bad;
}

describe('mergekit options: GPU vs CPU', () => {
  it.each([
    ['dare_linear', 'l1'],
    ['dare_ties', 'l1'],
    ['dare_linear', 'l2'],
  ] as const)('%s, rescale_norm %s (batched, norms read back)', async (id, norm) => {
    if (!gpu) return;
    const bad = await gpuVsCpu({ ...DEFAULT_MERGE, method: id, density: 0.4, seed: 7, rescale_norm: norm, densities: [0.4, 0.7, 0.25] } as MergeParams, 'batched');
    // TIES votes within rounding of zero may flip on fused multiply-adds: allow a handful.
    for (const b of bad) expect(b).toBeLessThanOrEqual(id === 'dare_ties' ? 3 : 0);
  });

  it.each(['ties', 'dare_ties', 'breadcrumbs_ties'])('%s, consensus_method count', async (id) => {
    if (!gpu) return;
    const params = { ...DEFAULT_MERGE, method: id, density: 0.6, gamma: 0.05, seed: 3, weights: [1, 2, 0.5], consensus_method: 'count', rescale_norm: 'density' } as MergeParams;
    for (const b of await gpuVsCpu(params, 'encoder')) expect(b).toBeLessThanOrEqual(3);
    // The count vote is not the sum vote on these models.
    const sum = { ...params, consensus_method: 'sum' } as MergeParams;
    const a = new Float32Array(SIZES[0]!);
    const c = new Float32Array(SIZES[0]!);
    const rng = new CounterRng(1, 1);
    const base = seededFloats(rng, SIZES[0]!);
    const models = [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, SIZES[0]!, 0.01, 0.5), (d, i) => base[i]! + d - 0.25));
    findMethod(id)!.cpu({ name: 'x', offset: 0, params, models, base, out: a }, null);
    findMethod(id)!.cpu({ name: 'x', offset: 0, params: sum, models, base, out: c }, null);
    expect(a.some((v, i) => v !== c[i])).toBe(true);
  });
});
