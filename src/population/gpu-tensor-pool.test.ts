/**
 * The streamed merge's GPU pool held to the CPU twin's job (runMergeJob): every weight-only
 * method with a GPU merger, on fresh random tensors whose sizes are not multiples of the
 * workgroup size, two jobs in flight as the stream merge keeps them; the buffers it makes are
 * freed; and the methods it cannot take are refused up front, so they stay on the CPU.
 * Skips without a WebGPU adapter (SwiftShader in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuTensorMergePool, streamLayout } from './gpu-tensor-pool';
import { GPU_MERGE_METHODS } from './gpu-population';
import { runMergeJob, type MergeJob } from '../merge/stream-merge';
import { findMethod } from '../merge/registry';
import { paramsForTensor } from '../merge/param-rules';
import { DEFAULT_MERGE, type MergeMethod, type MergeParams } from '../protocol/settings';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { openTestGpu, seededFloats } from '../kernels/testing';
import type { StudioDevice } from '../gpu/device';

const tensors = [
  { name: 'w', dims: [37, 29] },
  { name: 'b', dims: [257] },
  { name: 'e', dims: [3, 333] },
];

let gpu: StudioDevice | null = null;
beforeAll(async () => {
  gpu = await openTestGpu();
});
afterAll(() => gpu?.device.destroy());

function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}

function differing(a: Float32Array, b: Float32Array, tol = 1e-5): number {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) bad++;
  return bad;
}

/** The jobs streamMerge hands a pool for these tensors: the models, then the base; offsets and depths in file order. */
function jobsFor(params: MergeParams, count: number, seed: number): MergeJob[] {
  const rng = new CounterRng(seed, 1);
  const layout = streamLayout(tensors);
  return layout.slots.map((slot) => {
    const base = seededFloats(rng, slot.size);
    const models = Array.from({ length: count }, () => Float32Array.from(seededFloats(rng, slot.size, 0.01, 0.5), (d, i) => base[i]! + d));
    return {
      method: params.method,
      name: slot.name,
      offset: slot.offset,
      dims: slot.dims,
      params: paramsForTensor(params, slot.name, slot.depth),
      inputs: [...models, base],
      models: models.map((_, i) => i),
      base: count,
      dtype: 'F32',
    };
  });
}

describe('the streamed merge on WebGPU, tensor by tensor', () => {
  const methods = [...GPU_MERGE_METHODS].filter((m) => !findMethod(m)!.needs.devData) as MergeMethod[];
  it.each(methods)('%s: each tensor as the CPU twin merges it', async (method) => {
    if (!gpu) return;
    const def = findMethod(method)!;
    const count = def.needs.models ?? Math.max(3, def.needs.minModels ?? 0);
    const params = { ...DEFAULT_MERGE, method, density: 0.6, lambda: 0.8, seed: 3, rescale_norm: 'density' } as MergeParams;
    const pool = GpuTensorMergePool.create(gpu.device, params, tensors, count);
    expect(pool).not.toBeNull();
    const jobs = jobsFor(params, count, 7);
    // The CPU's bytes first: the pool's jobs may travel (the web pool transfers them).
    const want = jobs.map((j) => floats(runMergeJob(j)));
    // Two in flight, as the stream merge keeps them.
    const got: Float32Array[] = [];
    for (let k = 0; k < jobs.length; k += pool!.size) {
      const batch = await Promise.all(jobs.slice(k, k + pool!.size).map((j) => pool!.merge(j)));
      got.push(...batch.map(floats));
    }
    pool!.close();
    expect(pool!.counts).toEqual({ gpu: jobs.length, cpu: 0 });
    for (const [i, g] of got.entries()) {
      expect(g.length).toBe(want[i]!.length);
      // TIES votes within rounding of zero may flip on fused multiply-adds: allow a handful.
      expect(differing(g, want[i]!)).toBeLessThanOrEqual(method.includes('ties') ? 3 : 0);
    }
    // The merge changed something: not the first model's values passed through.
    expect(differing(got[0]!, jobs[0]!.inputs[0]!)).toBeGreaterThan(100);
  });

  it('bfloat16 output: the GPU floats encoded as the CPU path encodes them', async () => {
    if (!gpu) return;
    const params = { ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 0.8 } as MergeParams;
    const pool = GpuTensorMergePool.create(gpu.device, params, tensors, 3)!;
    const job = { ...jobsFor(params, 3, 11)[1]!, dtype: 'BF16' as const };
    const got = await pool.merge(job);
    pool.close();
    const want = runMergeJob(job);
    expect(got.length).toBe(257 * 2);
    // The same encoder: where the f32 values agree, the bf16 bits do; a fused multiply-add on
    // the device may move a value across a rounding boundary, by one bf16 step at most.
    const [g, w] = [new Uint16Array(got.slice().buffer), new Uint16Array(want.slice().buffer)];
    let steps = 0;
    for (let i = 0; i < g.length; i++) {
      expect(Math.abs(g[i]! - w[i]!)).toBeLessThanOrEqual(1);
      if (g[i] !== w[i]) steps++;
    }
    expect(steps).toBeLessThanOrEqual(2);
  });

  it('refuses what must stay on the CPU: a method without a GPU merger, and the data-aware ones', () => {
    if (!gpu) return;
    const cpuOnly = (['regmean', 'fisher'] as MergeMethod[]).concat(
      ([...new Set(['della', 'sce', 'nuslerp', 'karcher', 'breadcrumbs', 'model_stock', 'passthrough'])] as MergeMethod[]).filter((m) => findMethod(m) && !findMethod(m)!.gpu),
    );
    for (const method of cpuOnly) expect(GpuTensorMergePool.create(gpu.device, { ...DEFAULT_MERGE, method } as MergeParams, tensors, 3)).toBeNull();
    // NuSLERP row by row (not flattened) has no GPU form: the registry's gpuPlan says so.
    expect(GpuTensorMergePool.create(gpu.device, { ...DEFAULT_MERGE, method: 'nuslerp', nuslerp_flatten: false } as MergeParams, tensors, 2)).toBeNull();
  });
});
