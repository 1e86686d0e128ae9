/**
 * SCE on the GPU held to its CPU twin on random inputs at sizes that are not a multiple of
 * the workgroup or the reduction tile, with and without the variance select (whose cut may
 * move where two variances round differently under a fused multiply-add: a handful).
 * Skipped where there is no adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';
import { createSceScratch, sceGpu, sceMerge } from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

async function onGpu(tensors: { models: Float32Array[]; base: Float32Array; selectTopk: number }[]) {
  const device = gpu!.device;
  const upload = (data: Float32Array) => {
    const b = createWeightBuffer(device, data.length);
    uploadFloats(device, b, data);
    return b;
  };
  const largest = Math.max(...tensors.map((t) => t.base.length));
  const scratch = createSceScratch(device, largest, 3);
  const jobs = tensors.map((t) => ({ models: t.models.map(upload), base: upload(t.base), out: createWeightBuffer(device, t.base.length), elementCount: t.base.length, selectTopk: t.selectTopk }));
  device.pushErrorScope('validation');
  await sceGpu(device, jobs, scratch);
  const outs = await Promise.all(jobs.map((j) => readFloats(device, j.out, j.elementCount)));
  const error = await device.popErrorScope();
  for (const j of jobs) for (const b of [...j.models, j.base, j.out]) b.destroy();
  scratch.destroy();
  if (error) throw new Error(`sce.test.ts: GPU validation error: ${error.message}`);
  return outs;
}

describe.skipIf(!gpu)('SCE: GPU vs CPU', () => {
  const sizes = [1, 37, 1000, 5003, 70001];
  for (const selectTopk of [1, 0.3, 0]) {
    it.each(sizes)(`select_topk ${selectTopk}: n %i`, async (n) => {
      const rng = new CounterRng(n + 31, 7);
      const base = seededFloats(rng, n);
      const models = [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + d));
      const cpu = new Float32Array(n);
      sceMerge(models, base, cpu, { selectTopk });
      const [out] = await onGpu([{ models, base, selectTopk }]);
      let bad = 0;
      for (let j = 0; j < n; j++) if (!(Math.abs(out![j]! - cpu[j]!) <= 1e-5 * (1 + Math.abs(cpu[j]!)))) bad++;
      expect(bad).toBeLessThanOrEqual(selectTopk > 0 && selectTopk < 1 ? 2 : 0);
    });
  }
  it('a batch of tensors with different selects', async () => {
    const rng = new CounterRng(3, 3);
    const tensors = [257, 1031, 64].map((n, t) => {
      const base = seededFloats(rng, n);
      return { base, selectTopk: [0.5, 1, 0.1][t]!, models: [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + d)) };
    });
    const outs = await onGpu(tensors);
    tensors.forEach((t, i) => {
      const cpu = new Float32Array(t.base.length);
      sceMerge(t.models, t.base, cpu, { selectTopk: t.selectTopk });
      let bad = 0;
      for (let j = 0; j < cpu.length; j++) if (!(Math.abs(outs[i]![j]! - cpu[j]!) <= 1e-5 * (1 + Math.abs(cpu[j]!)))) bad++;
      expect(bad).toBeLessThanOrEqual(2);
    });
  });
});
