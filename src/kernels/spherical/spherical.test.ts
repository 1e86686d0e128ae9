/**
 * The spherical merges on the GPU held to their CPU twins on random inputs at sizes that are
 * not a multiple of the workgroup or reduction tile (the GPU's Gram is an f32 tree reduction,
 * the CPU's f64: coefficients agree to ~1e-6). Skipped where there is no adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';
import { karcherCoefficients, karcherMerge, multislerpCoefficients, multislerpMerge, nuslerpCoefficients, nuslerpMerge, sphericalGpu, type Gram } from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

async function onGpu(models: Float32Array[], base: Float32Array | null, coefficients: (g: Gram, n: number) => number[]) {
  const device = gpu!.device;
  const n = models[0]!.length;
  const upload = (data: Float32Array) => {
    const b = createWeightBuffer(device, n);
    uploadFloats(device, b, data);
    return b;
  };
  const bufs = models.map(upload);
  const baseBuf = base ? upload(base) : null;
  const out = createWeightBuffer(device, n);
  device.pushErrorScope('validation');
  const [c] = await sphericalGpu(device, [{ models: bufs, base: baseBuf, out, elementCount: n, coefficients }]);
  const result = await readFloats(device, out, n);
  const error = await device.popErrorScope();
  for (const b of [...bufs, out, ...(baseBuf ? [baseBuf] : [])]) b.destroy();
  if (error) throw new Error(`spherical.test.ts: GPU validation error: ${error.message}`);
  return { out: result, coefficients: c! };
}

function expectClose(got: Float32Array, want: Float32Array) {
  let scale = 1e-30;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let bad = 0;
  for (let j = 0; j < want.length; j++) if (!(Math.abs(got[j]! - want[j]!) <= 1e-4 * scale)) bad++;
  expect(bad).toBe(0);
}

describe.skipIf(!gpu)('spherical merges: GPU vs CPU', () => {
  const sizes = [1, 37, 1000, 5003, 70001];
  it.each(sizes)('nuslerp (base and none), n %i', async (n) => {
    const rng = new CounterRng(n + 3, 5);
    const base = seededFloats(rng, n);
    const models = [0, 1].map(() => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + d));
    for (const b of [null, base]) {
      const cpu = new Float32Array(n);
      nuslerpMerge(models, b, cpu, { weights: [1, 2] });
      const { out } = await onGpu(models, b, (g) => nuslerpCoefficients(g, { weights: [1, 2] }));
      expectClose(out, cpu);
    }
  });
  it.each(sizes)('multislerp (3 models, base), n %i', async (n) => {
    const rng = new CounterRng(n + 4, 5);
    const base = seededFloats(rng, n);
    const models = [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, n, 0.001, 0.5), (d, j) => base[j]! + d));
    const cpu = new Float32Array(n);
    multislerpMerge(models, base, cpu, { weights: [1, 0.5, 2] });
    const { out } = await onGpu(models, base, (g, m) => multislerpCoefficients(g, m, { weights: [1, 0.5, 2] }));
    expectClose(out, cpu);
  });
  // One element: the units are ±1, θ ∈ {0, π}, where θ/sin θ is rounding noise (mergekit's too).
  it.each(sizes.slice(1))('karcher (4 models), n %i', async (n) => {
    const rng = new CounterRng(n + 5, 5);
    const models = [0, 1, 2, 3].map(() => seededFloats(rng, n));
    const cpu = new Float32Array(n);
    karcherMerge(models, cpu, { maxIter: 10, tol: 1e-5 });
    const { out } = await onGpu(models, null, (g, m) => karcherCoefficients(g, m, { maxIter: 10, tol: 1e-5 }));
    expectClose(out, cpu);
  });
});
