import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import { type EncodeOptions } from '../../gpu/elementwise';
import { configureUniformRing, DEFAULT_RING_SLOTS } from '../../gpu/uniform-ring';
import { KernelParamsError } from '../errors';
import { CounterRng, randomUnit } from '../rng/rng.cpu';
import { firstMismatch, openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { testBufferPool } from '../../testing/gpu-buffers';
import { deStepCpu, deTrialCpu, encodeDeStep, encodeDeTrial, type DeStepParams, type DeVectors } from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

/** Run one DE step on a backend; the GPU path uploads, encodes, submits and reads back. */
async function runDeStep(
  backend: BackendName,
  parent: Float32Array,
  donor: Float32Array,
  params: DeStepParams,
  opts: EncodeOptions = {},
): Promise<Float32Array> {
  if (backend === 'cpu') {
    const out = new Float32Array(parent.length);
    deStepCpu(parent, donor, out, params);
    return out;
  }
  const device = gpu!.device;
  const n = parent.length;
  const [p, d, o] = [createWeightBuffer(device, n), createWeightBuffer(device, n), createWeightBuffer(device, n)];
  uploadFloats(device, p, parent);
  uploadFloats(device, d, donor);
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeDeStep(device, encoder, p, d, o, n, params, opts);
  device.queue.submit([encoder.finish()]);
  const out = await readFloats(device, o, n);
  const error = await device.popErrorScope();
  for (const b of [p, d, o]) b.destroy();
  if (error) throw new Error(`de-step.test.ts: GPU validation error: ${error.message}`);
  return out;
}

/** Which elements the crossover should take from the mutant, from the RNG directly. */
function expectedMask(n: number, params: DeStepParams): Uint8Array {
  const mask = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const g = params.offset + j;
    mask[j] = randomUnit(params.seed, params.stream, g) < params.cr || g === params.jRand ? 1 : 0;
  }
  return mask;
}

/** Number of positions where two masks differ (cheap to report, unlike a 100k-element diff). */
function maskDiffs(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let count = 0;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) count++;
  return count;
}

function changedMask(parent: Float32Array, out: Float32Array): Uint8Array {
  return Uint8Array.from(parent, (x, j) => (Object.is(x, out[j]) ? 0 : 1));
}

/** f32 reference of the mutant for tolerance scaling. */
function mutantScale(x: number, d: number, f: number): number {
  return Math.abs(x) + Math.abs(Math.fround(f) * (d - x));
}

const rng = new CounterRng(0xde57e9, 1);
const randomParams = (n: number, overrides: Partial<DeStepParams> = {}): DeStepParams => {
  const offset = rng.nextInt(5_000_000) + 1;
  return {
    f: 0.1 + 0.8 * rng.nextUnit(),
    cr: 0.2 + 0.6 * rng.nextUnit(),
    seed: rng.nextU32(),
    stream: rng.nextInt(64),
    offset,
    jRand: offset + rng.nextInt(n),
    ...overrides,
  };
};

// Values: relative 1e-6 of |x| + |F(d − x)| (≈ 8 ulp; the GPU may fuse x + F·(d − x)).
const REL_TOL = 1e-6;

describe.each(testBackends(gpu))('de-step on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 255, 257, 100_003])('matches the CPU twin and the RNG mask exactly, n = %i', async (n) => {
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n);
    const out = await runDeStep(name, parent, donor, params);
    const reference = new Float32Array(n);
    deStepCpu(parent, donor, reference, params);
    const mask = expectedMask(n, params);
    expect(maskDiffs(changedMask(parent, reference), mask)).toBe(0); // inputs chosen so every mutant differs from x
    expect(maskDiffs(changedMask(parent, out), mask)).toBe(0);
    expect(firstMismatch(out, reference, (j) => REL_TOL * mutantScale(parent[j]!, donor[j]!, params.f))).toBe(-1);
    if (n > 1000) {
      const rate = mask.reduce((s, m) => s + m, 0) / n;
      expect(Math.abs(rate - params.cr)).toBeLessThan(0.01);
    }
  });

  it.skipIf(!available)('CR = 0 changes only the jRand element; jRand outside the tensor or -1 changes nothing', async () => {
    const n = 1000;
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const inside = randomParams(n, { cr: 0 });
    const out = await runDeStep(name, parent, donor, inside);
    const local = inside.jRand - inside.offset;
    const changed = changedMask(parent, out);
    expect(changed.reduce((s, m) => s + m, 0)).toBe(1);
    expect(changed[local]).toBe(1);
    const x = parent[local]!;
    expect(Math.abs(out[local]! - (x + inside.f * (donor[local]! - x)))).toBeLessThan(REL_TOL * mutantScale(x, donor[local]!, inside.f));
    for (const jRand of [-1, inside.offset - 1, inside.offset + n]) {
      expect(changedMask(parent, await runDeStep(name, parent, donor, { ...inside, jRand })).every((m) => m === 0)).toBe(true);
    }
  });

  it.skipIf(!available)('CR = 1 changes every element to the mutant', async () => {
    const n = 4097;
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n, { cr: 1, jRand: -1 });
    const out = await runDeStep(name, parent, donor, params);
    expect(changedMask(parent, out).every((m) => m === 1)).toBe(true);
    const f = Math.fround(params.f);
    const exact = Float32Array.from(parent, (x, j) => x + Math.fround(f * Math.fround(donor[j]! - x)));
    expect(firstMismatch(out, exact, (j) => REL_TOL * mutantScale(parent[j]!, donor[j]!, f))).toBe(-1);
  });

  it.skipIf(!available)('equal parent and donor give exactly the parent, whatever CR and F', async () => {
    const n = 3001;
    const parent = seededFloats(rng, n, 1e-6, 1e6);
    for (const cr of [1, 0.5]) {
      const out = await runDeStep(name, parent, parent.slice(), randomParams(n, { cr, f: 0.7 }));
      expect(out).toEqual(parent);
    }
  });

  it.skipIf(!available)('same seed reproduces; another seed or stream gives another mask', async () => {
    const n = 2049;
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n, { cr: 0.5 });
    const a = await runDeStep(name, parent, donor, params);
    const b = await runDeStep(name, parent, donor, { ...params });
    expect(b).toEqual(a);
    const maskA = changedMask(parent, a);
    for (const other of [{ ...params, seed: (params.seed + 1) >>> 0 }, { ...params, stream: params.stream + 1 }]) {
      const maskB = changedMask(parent, await runDeStep(name, parent, donor, other));
      const differing = maskA.reduce((s, m, j) => s + (m !== maskB[j] ? 1 : 0), 0);
      expect(differing / n).toBeGreaterThan(0.4); // independent masks at CR = 0.5 differ on ≈ half
    }
  });

  it.skipIf(!available)('does not depend on how the vector is split into tensors (global index offsets)', async () => {
    const n = 10_000;
    const cut = 3_333;
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n, { cr: 0.3 });
    const whole = await runDeStep(name, parent, donor, params);
    const head = await runDeStep(name, parent.subarray(0, cut), donor.subarray(0, cut), params);
    const tail = await runDeStep(name, parent.subarray(cut), donor.subarray(cut), { ...params, offset: params.offset + cut });
    const joined = new Float32Array(n);
    joined.set(head);
    joined.set(tail, cut);
    expect(joined).toEqual(whole);
  });
});

/** A general trial (DE/rand/1, DE/best/1) on a backend. */
async function runTrial(backend: BackendName, vectors: DeVectors, params: DeStepParams): Promise<Float32Array> {
  const n = vectors.target.length;
  if (backend === 'cpu') {
    const out = new Float32Array(n);
    deTrialCpu(vectors, out, params);
    return out;
  }
  const device = gpu!.device;
  const { buffer, destroyAll } = testBufferPool(device);
  const buffers = { target: buffer(n, vectors.target), base: buffer(n, vectors.base), plus: buffer(n, vectors.plus), minus: buffer(n, vectors.minus) };
  const o = buffer(n);
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeDeTrial(device, encoder, buffers, o, n, params);
  device.queue.submit([encoder.finish()]);
  const out = await readFloats(device, o, n);
  const error = await device.popErrorScope();
  destroyAll();
  if (error) throw new Error(`de-step.test.ts: GPU validation error: ${error.message}`);
  return out;
}

describe.each(testBackends(gpu))('de-step trial (DE/rand/1) on $name', ({ name, available }) => {
  it.skipIf(!available).each([257, 100_003])('takes base + F·(plus − minus) where the mask says, the target elsewhere, n = %i', async (n) => {
    const vectors = { target: seededFloats(rng, n), base: seededFloats(rng, n), plus: seededFloats(rng, n), minus: seededFloats(rng, n) };
    const params = randomParams(n);
    const out = await runTrial(name, vectors, params);
    const mask = expectedMask(n, params);
    const f = Math.fround(params.f);
    const scale = (j: number) => REL_TOL * (Math.abs(vectors.base[j]!) + Math.abs(f * (vectors.plus[j]! - vectors.minus[j]!)));
    for (let j = 0; j < n; j++) {
      if (mask[j]) {
        const want = vectors.base[j]! + f * (vectors.plus[j]! - vectors.minus[j]!);
        if (!(Math.abs(out[j]! - want) <= scale(j))) throw new Error(`element ${j}: ${out[j]} vs mutant ${want}`);
      } else if (!Object.is(out[j], vectors.target[j])) {
        throw new Error(`element ${j}: ${out[j]} is not the target's ${vectors.target[j]}`);
      }
    }
    if (name === 'webgpu') expect(firstMismatch(out, await runTrial('cpu', vectors, params), scale)).toBe(-1);
  });

  it.skipIf(!available)('the interpolation vectors give the Evolver step bit for bit', async () => {
    const n = 5003;
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n);
    const general = await runTrial(name, { target: parent, base: parent, plus: donor, minus: parent }, params);
    expect(general).toEqual(await runDeStep(name, parent, donor, params));
  });
});

describe.skipIf(!gpu)('de-step (webgpu) dispatch', () => {
  it('folds into a 2-D grid when the workgroup count exceeds the per-dimension limit', async () => {
    const n = 100_003; // 391 workgroups
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n);
    const reference = await runDeStep('cpu', parent, donor, params);
    // 391 workgroups fold into x×y = 20×20, 23×17 and 196×2 grids.
    for (const maxWorkgroupsPerDimension of [20, 23, 390]) {
      const out = await runDeStep('webgpu', parent, donor, params, { maxWorkgroupsPerDimension });
      expect(maskDiffs(changedMask(parent, out), changedMask(parent, reference))).toBe(0);
      expect(firstMismatch(out, reference, (j) => REL_TOL * mutantScale(parent[j]!, donor[j]!, params.f))).toBe(-1);
    }
  });

  it('splits tensors larger than one storage binding into aligned chunks with the right global index', async () => {
    const n = 100_003;
    const parent = seededFloats(rng, n);
    const donor = seededFloats(rng, n);
    const params = randomParams(n, { jRand: 0 });
    params.jRand = params.offset + 70_000; // lands inside a later chunk
    const reference = await runDeStep('cpu', parent, donor, params);
    const out = await runDeStep('webgpu', parent, donor, params, { maxBindingBytes: 4096 * 3 + 100, maxWorkgroupsPerDimension: 5 });
    expect(maskDiffs(changedMask(parent, out), changedMask(parent, reference))).toBe(0);
    expect(firstMismatch(out, reference, (j) => REL_TOL * mutantScale(parent[j]!, donor[j]!, params.f))).toBe(-1);
  });

  it.each([0, 3])('many calls with different params in one encoder each see their own uniforms (ring of %i slots; 0 = default)', async (slots) => {
    const device = gpu!.device;
    if (slots > 0) configureUniformRing(device, slots);
    const sizes = Array.from({ length: 40 }, () => 1 + rng.nextInt(3000));
    const total = sizes.reduce((a, b) => a + b, 0);
    const parent = seededFloats(rng, total);
    const donor = seededFloats(rng, total);
    const buffers = sizes.map((n) => [createWeightBuffer(device, n), createWeightBuffer(device, n), createWeightBuffer(device, n)] as const);
    const paramsList = sizes.map((n) => randomParams(n, { cr: rng.nextUnit() }));
    let start = 0;
    const encoder = device.createCommandEncoder();
    device.pushErrorScope('validation');
    sizes.forEach((n, t) => {
      const [p, d, o] = buffers[t]!;
      uploadFloats(device, p, parent.subarray(start, start + n));
      uploadFloats(device, d, donor.subarray(start, start + n));
      encodeDeStep(device, encoder, p, d, o, n, paramsList[t]!);
      start += n;
    });
    device.queue.submit([encoder.finish()]);
    start = 0;
    for (const [t, n] of sizes.entries()) {
      const out = await readFloats(device, buffers[t]![2], n);
      const x = parent.subarray(start, start + n);
      const reference = new Float32Array(n);
      deStepCpu(x, donor.subarray(start, start + n), reference, paramsList[t]!);
      expect(maskDiffs(changedMask(x, out), changedMask(x, reference))).toBe(0);
      start += n;
    }
    expect(await device.popErrorScope()).toBeNull();
    for (const bs of buffers) for (const b of bs) b.destroy();
    configureUniformRing(device, DEFAULT_RING_SLOTS);
  });

  it('rejects aliasing out with an input', () => {
    const device = gpu!.device;
    const a = createWeightBuffer(device, 8);
    const b = createWeightBuffer(device, 8);
    const encoder = device.createCommandEncoder();
    expect(() => encodeDeStep(device, encoder, a, b, a, 8, randomParams(8))).toThrow(KernelParamsError);
    a.destroy();
    b.destroy();
  });
});

describe('de-step parameter checks (cpu)', () => {
  it('rejects mismatched lengths and out-of-range indices; allows out to alias an input', () => {
    const x = seededFloats(rng, 10);
    const d = seededFloats(rng, 10);
    const params = randomParams(10, { cr: 0.5 });
    expect(() => deStepCpu(x, d, new Float32Array(9), params)).toThrow(KernelParamsError);
    expect(() => deStepCpu(x, d, new Float32Array(10), { ...params, offset: -1 })).toThrow(KernelParamsError);
    expect(() => deStepCpu(x, d, new Float32Array(10), { ...params, offset: 2 ** 32 - 5 })).toThrow(KernelParamsError);
    expect(() => deStepCpu(x, d, new Float32Array(10), { ...params, jRand: -2 })).toThrow(KernelParamsError);
    const expected = new Float32Array(10);
    deStepCpu(x, d, expected, params);
    const inPlace = x.slice();
    deStepCpu(inPlace, d, inPlace, params);
    expect(inPlace).toEqual(expected);
    const inDonor = d.slice();
    deStepCpu(x, inDonor, inDonor, params);
    expect(inDonor).toEqual(expected);
  });
});
