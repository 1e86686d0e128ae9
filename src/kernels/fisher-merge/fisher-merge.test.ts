import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import { type EncodeOptions } from '../../gpu/elementwise';
import { fisherWeightedMerge } from '../../eval/fisher';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { firstMismatch, openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { createFisherScratch, encodeFisherMerge, fisherMergeCpu } from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

const rng = new CounterRng(0xf15e, 3);

interface Case {
  models: Float32Array[];
  fishers: Float32Array[];
}

/** Random models and non-negative Fishers; every `zeroEvery`-th element has F = 0 in every model, and model 0 has F = 0 on every 5th. */
function makeCase(n: number, modelCount: number, zeroEvery = 7): Case {
  const models = Array.from({ length: modelCount }, () => seededFloats(rng, n));
  const fishers = Array.from({ length: modelCount }, () => seededFloats(rng, n, 1e-4, 3).map(Math.abs));
  for (let j = 0; j < n; j++) {
    if (j % zeroEvery === 0) for (const f of fishers) f[j] = 0;
    if (j % 5 === 0) fishers[0]![j] = 0;
  }
  return { models, fishers };
}

async function run(backend: BackendName, { models, fishers }: Case, opts: EncodeOptions = {}, stale = false): Promise<Float32Array> {
  const n = models[0]!.length;
  if (backend === 'cpu') {
    const out = new Float32Array(n);
    fisherMergeCpu(models, fishers, out);
    return out;
  }
  const device = gpu!.device;
  const upload = (data: Float32Array): GPUBuffer => {
    const b = createWeightBuffer(device, n);
    uploadFloats(device, b, data);
    return b;
  };
  const modelBufs = models.map(upload);
  const fisherBufs = fishers.map(upload);
  const out = createWeightBuffer(device, n);
  const scratch = createFisherScratch(device, n + 3);
  if (stale) {
    // Stale NaN in the scratch must not leak: the first pass overwrites.
    const nan = new Float32Array(n).fill(Number.NaN);
    for (const b of [scratch.num, scratch.den, scratch.sum, out]) uploadFloats(device, b, nan);
  }
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeFisherMerge(device, encoder, modelBufs, fisherBufs, out, n, scratch, opts);
  device.queue.submit([encoder.finish()]);
  const result = await readFloats(device, out, n);
  const error = await device.popErrorScope();
  for (const b of [...modelBufs, ...fisherBufs, out]) b.destroy();
  scratch.destroy();
  if (error) throw new Error(`fisher-merge.test.ts: GPU validation error: ${error.message}`);
  return result;
}

/** Per-element magnitude the result is rounded against: the weighted mean of |θ| (or the plain one). */
function scales({ models, fishers }: Case): Float64Array {
  const n = models[0]!.length;
  const s = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let num = 0;
    let den = 0;
    let plain = 0;
    for (let m = 0; m < models.length; m++) {
      num += fishers[m]![j]! * Math.abs(models[m]![j]!);
      den += fishers[m]![j]!;
      plain += Math.abs(models[m]![j]!);
    }
    s[j] = den > 0 ? num / den : plain / models.length;
  }
  return s;
}

// M f32 additions in each of num and den plus one division (≤ 2.5 ulp on the GPU):
// (2M + 4)·2⁻²⁴ relative to the weighted mean of |θ|, rounded up.
const tolFor = (modelCount: number, scale: Float64Array) => (j: number) => (2 * modelCount + 4) * 1.2e-7 * scale[j]! + 1e-30;

describe.each(testBackends(gpu))('fisher-merge on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 257, 100_003])('matches the f64 merge of src/eval/fisher.ts, n = %i', async (n) => {
    const c = makeCase(n, 3, n === 1 ? 1 : 7);
    const out = await run(name, c);
    const ref = new Float32Array(n);
    fisherWeightedMerge(c.models, c.fishers.map((f) => Float64Array.from(f)), ref);
    const tol = tolFor(3, scales(c));
    expect(firstMismatch(out, ref, tol)).toBe(-1);
    expect(firstMismatch(out, await run('cpu', c), tol)).toBe(-1);
  });

  it.skipIf(!available)('all-zero Fisher gives the plain mean; one non-zero Fisher picks that model', async () => {
    const c = makeCase(300, 4, 1);
    for (let j = 1; j < 300; j += 2) c.fishers[2]![j] = 0.37;
    const out = await run(name, c);
    for (let j = 0; j < 300; j++) {
      const expected = j % 2 ? c.models[2]![j]! : (c.models[0]![j]! + c.models[1]![j]! + c.models[2]![j]! + c.models[3]![j]!) / 4;
      expect(Math.abs(out[j]! - expected)).toBeLessThanOrEqual(12 * 1.2e-7 * 2);
    }
  });
});

describe.skipIf(!gpu)('fisher-merge (webgpu) dispatch', () => {
  it('8 models (16 input tensors) encode one model per pass, ignore stale scratch, and survive chunking', async () => {
    const n = 5001;
    const c = makeCase(n, 8);
    const cpu = await run('cpu', c);
    const tol = tolFor(8, scales(c));
    for (const opts of [{}, { maxBindingBytes: 4096, maxWorkgroupsPerDimension: 3 }]) {
      const out = await run('webgpu', c, opts, true);
      expect(out.every(Number.isFinite)).toBe(true);
      expect(firstMismatch(out, cpu, tol)).toBe(-1);
    }
  });

  it('rejects count mismatches and aliasing of out or scratch', () => {
    const device = gpu!.device;
    const a = createWeightBuffer(device, 8);
    const f = createWeightBuffer(device, 8);
    const out = createWeightBuffer(device, 8);
    const scratch = createFisherScratch(device, 8);
    const encoder = device.createCommandEncoder();
    expect(() => encodeFisherMerge(device, encoder, [a, a], [f], out, 8, scratch)).toThrow(KernelParamsError);
    expect(() => encodeFisherMerge(device, encoder, [], [], out, 8, scratch)).toThrow(KernelParamsError);
    expect(() => encodeFisherMerge(device, encoder, [a], [f], a, 8, scratch)).toThrow(KernelParamsError);
    expect(() => encodeFisherMerge(device, encoder, [a], [f], scratch.num, 8, scratch)).toThrow(KernelParamsError);
    for (const b of [a, f, out]) b.destroy();
    scratch.destroy();
  });
});

describe('fisher-merge parameter checks (cpu)', () => {
  it('rejects mismatched counts and lengths', () => {
    const out = new Float32Array(4);
    expect(() => fisherMergeCpu([seededFloats(rng, 4)], [], out)).toThrow(KernelParamsError);
    expect(() => fisherMergeCpu([seededFloats(rng, 4)], [seededFloats(rng, 5)], out)).toThrow(KernelParamsError);
  });
});
