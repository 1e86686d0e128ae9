import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import { type EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { firstMismatch, openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { encodeScaleAdd, scaleAddCpu } from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

interface Pass {
  x: Float32Array;
  alpha: number;
  beta: number;
}

/** Apply passes in order to a copy of init; the GPU path encodes them all into one encoder. */
async function runPasses(backend: BackendName, init: Float32Array, passes: Pass[], opts: EncodeOptions = {}): Promise<Float32Array> {
  if (backend === 'cpu') {
    const out = init.slice();
    for (const p of passes) scaleAddCpu(out, p.x, p.alpha, p.beta);
    return out;
  }
  const device = gpu!.device;
  const n = init.length;
  const out = createWeightBuffer(device, n);
  uploadFloats(device, out, init);
  const xs = passes.map((p) => {
    const b = createWeightBuffer(device, n);
    uploadFloats(device, b, p.x);
    return b;
  });
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  passes.forEach((p, i) => encodeScaleAdd(device, encoder, out, xs[i]!, n, p.alpha, p.beta, opts));
  device.queue.submit([encoder.finish()]);
  const result = await readFloats(device, out, n);
  const error = await device.popErrorScope();
  for (const b of [out, ...xs]) b.destroy();
  if (error) throw new Error(`scale-add.test.ts: GPU validation error: ${error.message}`);
  return result;
}

/** f64 reference of the passes, for a tolerance relative to the magnitudes summed. */
function reference(init: Float32Array, passes: Pass[]): { value: Float64Array; scale: Float64Array } {
  const value = Float64Array.from(init);
  const scale = Float64Array.from(init, Math.abs);
  for (const { x, alpha, beta } of passes) {
    for (let j = 0; j < value.length; j++) {
      value[j] = alpha === 0 ? beta * x[j]! : alpha * value[j]! + beta * x[j]!;
      scale[j] = (alpha === 0 ? 0 : Math.abs(alpha) * scale[j]!) + Math.abs(beta * x[j]!);
    }
  }
  return { value, scale };
}

const rng = new CounterRng(0x5ca1e, 2);
// Per pass ≈ 2 roundings of f32 (≤ 1.2e-7 each) relative to the magnitudes involved.
const REL_TOL_PER_PASS = 1e-6;

describe.each(testBackends(gpu))('scale-add on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 255, 257, 100_003])('one pass matches the f64 reference and the CPU twin, n = %i', async (n) => {
    const init = seededFloats(rng, n);
    const passes = [{ x: seededFloats(rng, n), alpha: 0.3 + rng.nextUnit(), beta: -0.5 - rng.nextUnit() }];
    const out = await runPasses(name, init, passes);
    const { value, scale } = reference(init, passes);
    expect(firstMismatch(out, Float32Array.from(value), (j) => REL_TOL_PER_PASS * scale[j]! + 1e-30)).toBe(-1);
    const cpu = await runPasses('cpu', init, passes);
    expect(firstMismatch(out, cpu, (j) => REL_TOL_PER_PASS * scale[j]! + 1e-30)).toBe(-1);
  });

  it.skipIf(!available)('a weighted mean of 3 models as passes (first α = 0) ignores stale NaN/Inf in out', async () => {
    const n = 5000;
    const init = seededFloats(rng, n);
    init[0] = Number.NaN;
    init[1] = Number.POSITIVE_INFINITY;
    const models = [0, 1, 2].map(() => seededFloats(rng, n));
    const weights = [0.2, 0.5, 0.3];
    const passes = models.map((x, i) => ({ x, alpha: i === 0 ? 0 : 1, beta: weights[i]! }));
    const out = await runPasses(name, init, passes);
    const { value, scale } = reference(init, passes);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(firstMismatch(out, Float32Array.from(value), (j) => 3 * REL_TOL_PER_PASS * scale[j]!)).toBe(-1);
  });

  it.skipIf(!available)('α = 1, β = 0 leaves out unchanged exactly; α = 0, β = 1 copies x exactly', async () => {
    const n = 777;
    const init = seededFloats(rng, n);
    const x = seededFloats(rng, n);
    expect(await runPasses(name, init, [{ x, alpha: 1, beta: 0 }])).toEqual(init);
    expect(await runPasses(name, init, [{ x, alpha: 0, beta: 1 }])).toEqual(x);
  });
});

describe.skipIf(!gpu)('scale-add (webgpu) dispatch', () => {
  it('2-D grid folding and binding chunks give the CPU result', async () => {
    const n = 100_003;
    const init = seededFloats(rng, n);
    const passes = [
      { x: seededFloats(rng, n), alpha: 0, beta: 0.25 },
      { x: seededFloats(rng, n), alpha: 1, beta: 0.75 },
    ];
    const cpu = await runPasses('cpu', init, passes);
    const { scale } = reference(init, passes);
    for (const opts of [{ maxWorkgroupsPerDimension: 21 }, { maxBindingBytes: 40_000, maxWorkgroupsPerDimension: 9 }]) {
      const out = await runPasses('webgpu', init, passes, opts);
      expect(firstMismatch(out, cpu, (j) => 2 * REL_TOL_PER_PASS * scale[j]!)).toBe(-1);
    }
  });

  it('rejects out === x and non-finite coefficients', () => {
    const device = gpu!.device;
    const a = createWeightBuffer(device, 8);
    const b = createWeightBuffer(device, 8);
    const encoder = device.createCommandEncoder();
    expect(() => encodeScaleAdd(device, encoder, a, a, 8, 1, 1)).toThrow(KernelParamsError);
    expect(() => encodeScaleAdd(device, encoder, a, b, 8, Number.NaN, 1)).toThrow(KernelParamsError);
    a.destroy();
    b.destroy();
  });
});

describe('scale-add parameter checks (cpu)', () => {
  it('rejects mismatched lengths and non-finite coefficients', () => {
    const out = seededFloats(rng, 4);
    expect(() => scaleAddCpu(out, seededFloats(rng, 5), 1, 1)).toThrow(KernelParamsError);
    expect(() => scaleAddCpu(out, seededFloats(rng, 4), 1, Number.POSITIVE_INFINITY)).toThrow(KernelParamsError);
  });
});
