/**
 * DELLA on the GPU held to its CPU twin on random inputs at sizes and shapes that are not a
 * multiple of the workgroup or the sort's power of two: the same ranks and masks bit for bit,
 * the same merge to f32 rounding (the L1 rescale's sums are f32 trees on the GPU; TIES votes
 * within rounding of zero may flip: a handful). Skipped where there is no adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFloats } from '../../gpu/buffers';
import { testBufferPool } from '../../testing/gpu-buffers';
import { dellaMerge, dellaPlan, type DellaParams } from './della.cpu';
import { createDellaScratch, encodeDella } from './della';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

async function gpuDella(models: Float32Array[], base: Float32Array, params: DellaParams) {
  const device = gpu!.device;
  const n = base.length;
  const pool = testBufferPool(device);
  const modelBufs = models.map((m) => pool.buffer(n, m));
  const baseBuf = pool.buffer(n, base);
  const outBuf = pool.buffer(n);
  const scratch = createDellaScratch(device, n, models.length);
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeDella(device, encoder, modelBufs, baseBuf, outBuf, n, params, scratch);
  device.queue.submit([encoder.finish()]);
  const out = await readFloats(device, outBuf, n);
  const masked = await Promise.all(models.map((_, i) => readFloats(device, scratch.masked[i]!, n)));
  const error = await device.popErrorScope();
  pool.destroyAll();
  scratch.destroy();
  if (error) throw new Error(`della.test.ts: GPU validation error: ${error.message}`);
  return { out, masked };
}

describe.skipIf(!gpu)('DELLA: GPU vs CPU', () => {
  const cases: [number[], number, number][] = [
    [[1], 0.5, 0.1],
    [[37], 0.5, 0.15],
    [[1000], 0.4, 0.2],
    [[61, 83], 0.6, 0.15],
    [[5, 6, 7], 0.5, 0.3],
    [[3, 1], 0.5, 0.1],
    [[30011], 0.7, 0.1],
  ];
  for (const consensus of ['ties', 'none'] as const) {
    it.each(cases)(`${consensus}: dims %j, density %f, epsilon %f`, async (dims, density, epsilon) => {
      const n = dims.reduce((a, b) => a * b, 1);
      const rng = new CounterRng(n + 21, 6);
      const base = seededFloats(rng, n);
      // Every other model quantised: equal magnitudes test the sort's index tie-break.
      const models = [0, 1, 2].map((i) => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + (i % 2 ? Math.round(d * 16) / 16 : d)));
      const params: DellaParams = { density, epsilon, seed: 5, offset: 1234, dims, consensus, weights: [1, 0.5, 2], lambda: 0.8, normalize: consensus === 'ties', rescale: true };
      const cpu = new Float32Array(n);
      dellaMerge(models, base, cpu, params);
      const { out, masked } = await gpuDella(models, base, params);
      const { keeps } = dellaPlan(models, base, params);
      masked.forEach((m, i) => {
        let differ = 0;
        for (let j = 0; j < n; j++) if ((m[j] !== 0) !== (keeps[i]![j] === 1 && models[i]![j] !== base[j])) differ++;
        expect(differ, `model ${i}'s mask`).toBe(0);
      });
      let bad = 0;
      for (let j = 0; j < n; j++) if (!(Math.abs(out[j]! - cpu[j]!) <= 1e-5 * (1 + Math.abs(cpu[j]!)))) bad++;
      expect(bad).toBeLessThanOrEqual(consensus === 'ties' ? 3 : 0);
    });
  }
  it('density 1 keeps whole task vectors, density 0 drops them', async () => {
    const n = 300;
    const rng = new CounterRng(77, 6);
    const base = seededFloats(rng, n);
    const models = [0, 1].map(() => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + d));
    for (const density of [[1, 1], [0, 1]]) {
      const params: DellaParams = { density, epsilon: 0.1, seed: 1, consensus: 'none', normalize: false };
      const cpu = new Float32Array(n);
      dellaMerge(models, base, cpu, params);
      const { out } = await gpuDella(models, base, params);
      for (let j = 0; j < n; j++) expect(Math.abs(out[j]! - cpu[j]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(cpu[j]!)));
    }
  });
});
