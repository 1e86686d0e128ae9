import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, gpuTransferCounters, readFloats, resetGpuTransferCounters, uploadFloats } from '../../gpu/buffers';
import { testBufferPool } from '../../testing/gpu-buffers';
import type { EncodeOptions } from '../../gpu/elementwise';
import { dareContribution, dareMerge, type DareParams } from './dare.cpu';
import { linearMerge, MERGE_BLOCK, type ContributionFn, type LinearMergeParams } from './linear.cpu';
import { taskArithmeticMerge, type TaskArithmeticParams } from './task-arithmetic.cpu';
import { tiesCuts, tiesMerge, trimmedContribution, type TiesParams } from './ties.cpu';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';
import {
  createMergeScratch,
  encodeDare,
  encodeLinear,
  encodeTaskArithmetic,
  encodeTies,
  readCut,
  type MergeScratch,
} from './index';
import { dareMasks, resolvePerModel } from './params';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

const rng = new CounterRng(0x7a5c7, 9);

type Method =
  | { kind: 'linear'; params: LinearMergeParams }
  | { kind: 'task-arithmetic'; params: TaskArithmeticParams }
  | { kind: 'ties'; params: TiesParams }
  | { kind: 'dare'; params: DareParams };

function cpuMerge(method: Method, models: Float32Array[], base: Float32Array): Float32Array {
  const out = new Float32Array(base.length);
  switch (method.kind) {
    case 'linear':
      linearMerge(models, out, method.params);
      break;
    case 'task-arithmetic':
      taskArithmeticMerge(models, base, out, method.params);
      break;
    case 'ties':
      tiesMerge(models, base, out, method.params);
      break;
    case 'dare':
      dareMerge(models, base, out, method.params);
      break;
  }
  return out;
}

function encodeMerge(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  method: Method,
  models: GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  n: number,
  scratch: MergeScratch,
  opts: EncodeOptions,
): void {
  switch (method.kind) {
    case 'linear':
      return encodeLinear(device, encoder, models, out, n, method.params, opts);
    case 'task-arithmetic':
      return encodeTaskArithmetic(device, encoder, models, base, out, n, method.params, opts);
    case 'ties':
      return encodeTies(device, encoder, models, base, out, n, method.params, scratch, opts);
    case 'dare':
      return encodeDare(device, encoder, models, base, out, n, method.params, scratch, opts);
  }
}

/** Upload, encode one merge, submit, read out back; also returns the bytes read back during the merge itself. */
async function gpuMerge(method: Method, models: Float32Array[], base: Float32Array, opts: EncodeOptions = {}) {
  const device = gpu!.device;
  const n = base.length;
  const pool = testBufferPool(device);
  const modelBufs = models.map((m) => pool.buffer(n, m));
  const baseBuf = pool.buffer(n, base);
  const outBuf = pool.buffer(n);
  const scratch = createMergeScratch(device, n, models.length);
  device.pushErrorScope('validation');
  resetGpuTransferCounters();
  const encoder = device.createCommandEncoder();
  encodeMerge(device, encoder, method, modelBufs, baseBuf, outBuf, n, scratch, opts);
  device.queue.submit([encoder.finish()]);
  const readBackDuringMerge = gpuTransferCounters.bytesReadBack;
  const out = await readFloats(device, outBuf, n);
  const cuts = method.kind === 'ties' ? await Promise.all(models.map((_, i) => readCut(device, scratch.table, i))) : null;
  const error = await device.popErrorScope();
  pool.destroyAll();
  scratch.destroy();
  if (error) throw new Error(`task-vector.test.ts: GPU validation error: ${error.message}`);
  return { out, cuts, readBackDuringMerge };
}

/** Per element: Σ|c_i| (tolerance scale) and the vote margin |Σ c_i| / Σ|c_i| of the CPU contributions. */
function contributionStats(contribution: ContributionFn, modelCount: number, n: number) {
  const magnitude = new Float64Array(n);
  const margin = new Float64Array(n);
  const sum = new Float64Array(n);
  const dst = new Float32Array(MERGE_BLOCK);
  const dstBits = new Int32Array(dst.buffer);
  for (let start = 0; start < n; start += MERGE_BLOCK) {
    const len = Math.min(MERGE_BLOCK, n - start);
    for (let i = 0; i < modelCount; i++) {
      contribution(i, start, len, dst, dstBits);
      for (let jj = 0; jj < len; jj++) {
        magnitude[start + jj]! += Math.abs(dst[jj]!);
        sum[start + jj]! += dst[jj]!;
      }
    }
  }
  for (let j = 0; j < n; j++) margin[j] = magnitude[j] === 0 ? Infinity : Math.abs(sum[j]!) / magnitude[j]!;
  return { magnitude, margin };
}

/**
 * GPU and CPU agree to a few f32 roundings of the magnitudes summed (the GPU may fuse
 * multiply-adds) everywhere except where a TIES vote is within rounding of zero (the
 * elected sign may then differ); such elements must be rare.
 */
function expectTwins(method: Method, models: Float32Array[], base: Float32Array, gpuOut: Float32Array, cpuOut: Float32Array): void {
  const n = base.length;
  const weights = (method.params.weights ?? models.map(() => 1)).map(Math.fround);
  let stats: { magnitude: Float64Array; margin: Float64Array } | null = null;
  if (method.kind === 'ties') {
    const densities = resolvePerModel(method.params.density, 1, models.length, () => true, 'density', 'test');
    const cuts = tiesCuts(models, base, densities);
    stats = contributionStats(trimmedContribution(models, base, Float32Array.from(weights), cuts), models.length, n);
  } else if (method.kind === 'dare') {
    const densities = resolvePerModel(method.params.density, 1, models.length, () => true, 'density', 'test');
    const masks = dareMasks(densities, method.params.seed, method.params.rescale ?? true);
    stats = contributionStats(dareContribution(models, base, Float32Array.from(weights), masks, method.params.offset ?? 0), models.length, n);
  }
  const consensus = method.kind === 'ties' || (method.kind === 'dare' && method.params.consensus === 'ties');
  const wMin = Math.min(...weights.map(Math.abs));
  let ambiguous = 0;
  for (let j = 0; j < n; j++) {
    let mag = 0;
    if (stats) mag = stats.magnitude[j]!;
    else for (let i = 0; i < models.length; i++) mag += Math.abs(weights[i]! * models[i]![j]!) + Math.abs(weights[i]! * base[j]!);
    if (consensus && stats!.margin[j]! < 1e-5) {
      ambiguous++;
      continue;
    }
    const tol = 1e-6 * (Math.abs(base[j]!) + Math.abs(cpuOut[j]!) + (mag * models.length) / Math.min(1, wMin)) + 1e-30;
    if (!(Math.abs(gpuOut[j]! - cpuOut[j]!) <= tol)) {
      throw new Error(`task-vector.test.ts: ${method.kind} differs at ${j}: gpu ${gpuOut[j]}, cpu ${cpuOut[j]} (tol ${tol})`);
    }
  }
  expect(ambiguous).toBeLessThanOrEqual(Math.max(2, n * 1e-4));
}

function randomWeights(count: number): number[] {
  return Array.from({ length: count }, () => 0.5 + rng.nextUnit());
}

function methods(modelCount: number, offset: number): Method[] {
  const weights = randomWeights(modelCount);
  return [
    { kind: 'linear', params: { weights } },
    { kind: 'linear', params: { weights, normalize: false } },
    { kind: 'task-arithmetic', params: { weights, lambda: 0.6 } },
    { kind: 'ties', params: { weights, density: 0.3, lambda: 0.9 } },
    { kind: 'ties', params: { weights, normalize: false } },
    { kind: 'dare', params: { weights, density: 0.4, seed: rng.nextU32(), offset, lambda: 0.8 } },
    { kind: 'dare', params: { weights, density: 0.6, seed: rng.nextU32(), offset, consensus: 'ties', normalize: true } },
  ];
}

describe.skipIf(!gpu)('task-vector mergers (webgpu) vs the CPU twins', () => {
  it.each([1, 257, 100_003])('every method on 3 random models, n = %i', async (n) => {
    const base = seededFloats(rng, n);
    const models = [0, 1, 2].map(() => seededFloats(rng, n));
    for (const method of methods(3, rng.nextInt(1 << 20))) {
      const { out, cuts, readBackDuringMerge } = await gpuMerge(method, models, base);
      expect(readBackDuringMerge).toBe(0);
      if (cuts) {
        const densities = resolvePerModel((method.params as TiesParams).density, 1, 3, () => true, 'density', 'test');
        const cpuCuts = tiesCuts(models, base, densities);
        // At density 1 nothing is selected on the GPU (the table is untouched): compare trimmed merges only.
        if (densities.some((d) => d < 1)) expect(cuts).toEqual(cpuCuts);
      }
      expectTwins(method, models, base, out, cpuMerge(method, models, base));
    }
  });

  it('8 models (one storage binding each per pass), per-model densities, tied deltas', async () => {
    const n = 4099;
    const base = seededFloats(rng, n);
    // Deltas on a coarse grid: many equal magnitudes at each cut, so the tie-break passes run.
    const models = Array.from({ length: 8 }, () => Float32Array.from(base, (b) => b + (rng.nextInt(9) - 4) * 0.25));
    const weights = randomWeights(8);
    const density = Array.from({ length: 8 }, () => 0.1 + 0.8 * rng.nextUnit());
    for (const method of [
      { kind: 'ties', params: { weights, density, lambda: 0.5 } },
      { kind: 'dare', params: { weights, density, seed: 9, consensus: 'ties' } },
      { kind: 'task-arithmetic', params: { weights, normalize: true } },
    ] as Method[]) {
      const { out, cuts } = await gpuMerge(method, models, base);
      if (cuts) {
        const cpuCuts = tiesCuts(models, base, density);
        expect(cpuCuts.some((c) => c.tieEnd < n)).toBe(true);
        expect(cuts).toEqual(cpuCuts);
      }
      expectTwins(method, models, base, out, cpuMerge(method, models, base));
    }
  });

  it('chunked bindings and a folded 2-D grid give the CPU result (TIES, DARE)', async () => {
    const n = 30_001;
    const base = seededFloats(rng, n);
    const models = [0, 1, 2].map(() => seededFloats(rng, n));
    const opts = { maxBindingBytes: 40_000, maxWorkgroupsPerDimension: 7 };
    for (const method of [
      { kind: 'ties', params: { density: 0.25 } },
      { kind: 'dare', params: { density: 0.5, seed: 3, offset: 123_456, consensus: 'ties' } },
      { kind: 'dare', params: { density: 0.5, seed: 3, offset: 123_456 } },
    ] as Method[]) {
      const { out } = await gpuMerge(method, models, base, opts);
      expectTwins(method, models, base, out, cpuMerge(method, models, base));
    }
  });

  it('one scratch serves two tensors of a merge recorded into one encoder', async () => {
    const device = gpu!.device;
    const sizes = [5000, 3001];
    const tensors = sizes.map((n) => ({ base: seededFloats(rng, n), models: [0, 1].map(() => seededFloats(rng, n)) }));
    const scratch = createMergeScratch(device, 5000, 2);
    const buffers = tensors.map(({ base, models }) => {
      const up = (x: Float32Array) => {
        const b = createWeightBuffer(device, x.length);
        uploadFloats(device, b, x);
        return b;
      };
      return { base: up(base), models: models.map(up), out: createWeightBuffer(device, base.length) };
    });
    const params = [{ density: 0.2 }, { density: 0.7, lambda: 0.5 }];
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    buffers.forEach((b, t) => encodeTies(device, encoder, b.models, b.base, b.out, sizes[t]!, params[t]!, scratch));
    device.queue.submit([encoder.finish()]);
    for (const [t, b] of buffers.entries()) {
      const method: Method = { kind: 'ties', params: params[t]! };
      const { base, models } = tensors[t]!;
      expectTwins(method, models, base, await readFloats(device, b.out, sizes[t]!), cpuMerge(method, models, base));
    }
    expect(await device.popErrorScope()).toBeNull();
    for (const b of buffers) for (const x of [b.base, b.out, ...b.models]) x.destroy();
    scratch.destroy();
  });

  it('rejects out aliasing an input, a too-small scratch, and DARE-TIES without scratch', () => {
    const device = gpu!.device;
    const [a, b, c] = [0, 1, 2].map(() => createWeightBuffer(device, 16));
    const small = createMergeScratch(device, 8, 1);
    const encoder = device.createCommandEncoder();
    expect(() => encodeTaskArithmetic(device, encoder, [a!, b!], c!, a!, 16)).toThrow(KernelParamsError);
    expect(() => encodeLinear(device, encoder, [a!], a!, 16)).toThrow(KernelParamsError);
    expect(() => encodeTies(device, encoder, [a!, b!], c!, createWeightBuffer(device, 16), 16, {}, small)).toThrow(KernelParamsError);
    expect(() => encodeDare(device, encoder, [a!], b!, c!, 16, { density: 0.5, seed: 1, consensus: 'ties' })).toThrow(KernelParamsError);
    for (const x of [a, b, c]) x!.destroy();
    small.destroy();
  });
});
