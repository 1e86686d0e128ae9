/**
 * Breadcrumbs on the GPU held to its CPU twin on random inputs at sizes that are not a
 * multiple of the workgroup or histogram tile: the same band cuts bit for bit, and the
 * same merge to f32 rounding (TIES votes within rounding of zero may flip: a handful).
 * Skipped where there is no adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFloats } from '../../gpu/buffers';
import { testBufferPool } from '../../testing/gpu-buffers';
import { breadcrumbsCuts, breadcrumbsMerge, type BreadcrumbsParams } from './breadcrumbs.cpu';
import { BREADCRUMBS_CUTS_PER_MODEL, encodeBreadcrumbs } from './breadcrumbs';
import { createMergeScratch, readCut } from './index';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

async function gpuBreadcrumbs(models: Float32Array[], base: Float32Array, params: BreadcrumbsParams) {
  const device = gpu!.device;
  const n = base.length;
  const pool = testBufferPool(device);
  const modelBufs = models.map((m) => pool.buffer(n, m));
  const baseBuf = pool.buffer(n, base);
  const outBuf = pool.buffer(n);
  const scratch = createMergeScratch(device, n, models.length, BREADCRUMBS_CUTS_PER_MODEL);
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeBreadcrumbs(device, encoder, modelBufs, baseBuf, outBuf, n, params, scratch);
  device.queue.submit([encoder.finish()]);
  const out = await readFloats(device, outBuf, n);
  const cuts = await Promise.all(Array.from({ length: models.length * BREADCRUMBS_CUTS_PER_MODEL }, (_, s) => readCut(device, scratch.table, s)));
  const error = await device.popErrorScope();
  pool.destroyAll();
  scratch.destroy();
  if (error) throw new Error(`breadcrumbs.test.ts: GPU validation error: ${error.message}`);
  return { out, cuts };
}

describe.skipIf(!gpu)('breadcrumbs: GPU vs CPU', () => {
  const sizes: [number, number, number][] = [
    // n, density, gamma
    [1, 0.9, 0.01],
    [37, 0.9, 0.1],
    [1000, 0.7, 0.05],
    [5003, 0.9, 0.01],
    [70001, 0.8, 0.02],
  ];
  for (const consensus of ['none', 'ties'] as const) {
    it.each(sizes)(`${consensus}: n %i, density %f, gamma %f`, async (n, density, gamma) => {
      const rng = new CounterRng(n + 11, 4);
      const base = seededFloats(rng, n);
      // Every other model quantised: ties in magnitude straddle the cuts.
      const models = [0, 1, 2].map((i) => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + (i % 2 ? Math.round(d * 16) / 16 : d)));
      const params: BreadcrumbsParams = { density, gamma, lambda: 0.8, weights: [1, 0.5, 2], consensus };
      const cpu = new Float32Array(n);
      breadcrumbsMerge(models, base, cpu, params);
      const { out, cuts } = await gpuBreadcrumbs(models, base, params);
      const want = breadcrumbsCuts(models, base, [density, density, density], [gamma, gamma, gamma]).flatMap((c) => [c.outer, c.outliers]);
      expect(cuts).toEqual(want);
      let bad = 0;
      for (let j = 0; j < n; j++) if (!(Math.abs(out[j]! - cpu[j]!) <= 1e-5 * (1 + Math.abs(cpu[j]!)))) bad++;
      expect(bad).toBeLessThanOrEqual(consensus === 'ties' ? 3 : 0);
    });
  }
});
