import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, gpuTransferCounters, resetGpuTransferCounters, uploadFloats } from '../../gpu/buffers';
import { type EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import {
  createDotNormsResults,
  createDotNormsScratch,
  DOT_NORMS_TILE,
  dotNormsCpu,
  dotNormsGpu,
  dotNormsPlan,
  encodeDotNorms,
  readDotNormsResults,
  type DotNorms,
} from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

interface Case {
  x: Float32Array;
  y: Float32Array;
  base: Float32Array | null;
}

async function runBatch(backend: BackendName, cases: Case[], opts: EncodeOptions = {}): Promise<DotNorms[]> {
  if (backend === 'cpu') return cases.map((c) => dotNormsCpu(c.x, c.y, c.base));
  const device = gpu!.device;
  const owned: GPUBuffer[] = [];
  const upload = (data: Float32Array): GPUBuffer => {
    const buf = createWeightBuffer(device, data.length);
    uploadFloats(device, buf, data);
    owned.push(buf);
    return buf;
  };
  const items = cases.map((c) => ({ x: upload(c.x), y: upload(c.y), base: c.base ? upload(c.base) : null, elementCount: c.x.length }));
  device.pushErrorScope('validation');
  const out = await dotNormsGpu(device, items, opts);
  const error = await device.popErrorScope();
  for (const b of owned) b.destroy();
  if (error) throw new Error(`dot-norms.test.ts: GPU validation error: ${error.message}`);
  return out;
}

/** Neumaier-compensated f64 sums of exact f64 products: the reference, with Σ|x·y| for conditioning. */
function reference({ x, y, base }: Case): DotNorms & { absDot: number } {
  const sums = [0, 0, 0, 0];
  const comp = [0, 0, 0, 0];
  const add = (k: number, v: number): void => {
    const s = sums[k]!;
    const t = s + v;
    comp[k]! += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    sums[k] = t;
  };
  for (let j = 0; j < x.length; j++) {
    const c = base ? base[j]! : 0;
    const a = x[j]! - c;
    const b = y[j]! - c;
    add(0, a * b);
    add(1, a * a);
    add(2, b * b);
    add(3, Math.abs(a * b));
  }
  const total = (k: number): number => sums[k]! + comp[k]!;
  return { dot: total(0), normSqX: total(1), normSqY: total(2), absDot: total(3) };
}

/** |got − want| / scale for each of the three sums (scale of dot: Σ|x·y|, the condition-free bound). */
function relErrors(got: DotNorms, want: ReturnType<typeof reference>): { dot: number; dotOfAbs: number; normSqX: number; normSqY: number } {
  return {
    dot: Math.abs(got.dot - want.dot) / Math.abs(want.dot),
    dotOfAbs: Math.abs(got.dot - want.dot) / want.absDot,
    normSqX: Math.abs(got.normSqX - want.normSqX) / want.normSqX,
    normSqY: Math.abs(got.normSqY - want.normSqY) / want.normSqY,
  };
}

const rng = new CounterRng(0xd07, 3);

/** y correlated with x (cosine ≈ 0.6): a well-conditioned dot, like two fine-tunes of one model. */
function correlated(x: Float32Array): Float32Array {
  const noise = seededFloats(rng, x.length);
  return Float32Array.from(x, (v, j) => 0.6 * v + 0.5 * noise[j]!);
}

describe('dot-norms cpu twin, by hand', () => {
  it('sums products without and with a base', () => {
    const x = Float32Array.of(1, 2, 3);
    const y = Float32Array.of(4, -5, 6);
    expect(dotNormsCpu(x, y)).toEqual({ dot: 12, normSqX: 14, normSqY: 77 });
    // x − 1 = (0, 1, 2), y − 1 = (3, −6, 5)
    expect(dotNormsCpu(x, y, Float32Array.of(1, 1, 1))).toEqual({ dot: 4, normSqX: 5, normSqY: 70 });
  });

  it('rejects mismatched lengths', () => {
    expect(() => dotNormsCpu(new Float32Array(3), new Float32Array(4))).toThrow(KernelParamsError);
    expect(() => dotNormsCpu(new Float32Array(3), new Float32Array(3), new Float32Array(2))).toThrow(KernelParamsError);
  });
});

describe('dot-norms plan', () => {
  it('cuts chunks and levels', () => {
    expect(dotNormsPlan(0, 1 << 20)).toEqual({ chunks: [], partials: 0, sumLevels: [] });
    expect(dotNormsPlan(DOT_NORMS_TILE, 1 << 20).partials).toBe(1);
    const plan = dotNormsPlan(3 * DOT_NORMS_TILE * DOT_NORMS_TILE + 5, 1 << 30);
    expect(plan.partials).toBe(3 * DOT_NORMS_TILE + 1);
    expect(plan.sumLevels).toEqual([4, 1]);
    const chunked = dotNormsPlan(2500, 1000);
    expect(chunked.chunks).toEqual([
      { start: 0, count: 1000, partialOffset: 0 },
      { start: 1000, count: 1000, partialOffset: 1 },
      { start: 2000, count: 500, partialOffset: 2 },
    ]);
  });
});

describe.each(testBackends(gpu))('dot-norms on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 257, 100_003])('matches the compensated f64 reference, n = %i', async (n) => {
    const x = seededFloats(rng, n);
    const cases: Case[] = [
      { x, y: correlated(x), base: null },
      { x, y: seededFloats(rng, n), base: seededFloats(rng, n) },
    ];
    const got = await runBatch(name, cases);
    got.forEach((g, i) => {
      const e = relErrors(g, reference(cases[i]!));
      expect(e.normSqX).toBeLessThan(1e-6);
      expect(e.normSqY).toBeLessThan(1e-6);
      expect(e.dotOfAbs).toBeLessThan(1e-6);
    });
    if (name === 'webgpu') {
      const cpu = await runBatch('cpu', cases);
      const e = relErrors(got[0]!, { ...cpu[0]!, absDot: reference(cases[0]!).absDot });
      expect(e.dotOfAbs).toBeLessThan(1e-6);
    }
  });

  it.skipIf(!available)('relative error < 1e-5 on 1.2M elements (three reduction levels on the GPU)', async () => {
    const n = 1_200_000;
    const x = seededFloats(rng, n);
    const cases: Case[] = [
      { x, y: correlated(x), base: null },
      // Independent vectors: the dot cancels to ~√n of Σ|x·y|, so it is judged against Σ|x·y| too.
      { x: seededFloats(rng, n), y: seededFloats(rng, n), base: seededFloats(rng, n) },
    ];
    const got = await runBatch(name, cases);
    const well = relErrors(got[0]!, reference(cases[0]!));
    expect(well.dot).toBeLessThan(1e-5);
    expect(well.normSqX).toBeLessThan(1e-5);
    expect(well.normSqY).toBeLessThan(1e-5);
    const ill = relErrors(got[1]!, reference(cases[1]!));
    expect(ill.normSqX).toBeLessThan(1e-5);
    expect(ill.normSqY).toBeLessThan(1e-5);
    expect(ill.dotOfAbs).toBeLessThan(1e-6);
    // Tree sums keep each rounding relative to partial sums, not to Σ|x·y|: even this dot is ~1e-7.
    expect(ill.dot).toBeLessThan(1e-5);
  });
});

describe.skipIf(!gpu)('dot-norms (webgpu) encoding', () => {
  it('binding chunks and a folded 2-D grid give the same sums', async () => {
    const n = 100_003;
    const x = seededFloats(rng, n);
    const c: Case = { x, y: correlated(x), base: seededFloats(rng, n) };
    const want = reference(c);
    for (const opts of [{ maxWorkgroupsPerDimension: 11 }, { maxBindingBytes: 40_000, maxWorkgroupsPerDimension: 4 }]) {
      const [got] = await runBatch('webgpu', [c], opts);
      const e = relErrors(got!, want);
      expect(e.normSqX).toBeLessThan(1e-6);
      expect(e.normSqY).toBeLessThan(1e-6);
      expect(e.dotOfAbs).toBeLessThan(1e-6);
    }
  });

  it('a batch of reductions shares one scratch and reads back 16 bytes per result', async () => {
    const sizes = [5000, 3, 70_001, DOT_NORMS_TILE, DOT_NORMS_TILE + 1];
    const cases: Case[] = sizes.map((n) => ({ x: seededFloats(rng, n), y: seededFloats(rng, n), base: n % 2 ? seededFloats(rng, n) : null }));
    resetGpuTransferCounters();
    const got = await runBatch('webgpu', cases);
    expect(gpuTransferCounters.bytesReadBack).toBe(16 * sizes.length);
    got.forEach((g, i) => {
      const e = relErrors(g, reference(cases[i]!));
      expect(e.normSqX).toBeLessThan(1e-6);
      expect(e.dotOfAbs).toBeLessThan(1e-6);
    });
  });

  it('zero elements writes zeros over a stale result', async () => {
    const device = gpu!.device;
    const results = createDotNormsResults(device, 2);
    uploadFloats(device, results, Float32Array.of(7, 7, 7, 7, 9, 9, 9, 9));
    const x = createWeightBuffer(device, 4);
    const encoder = device.createCommandEncoder();
    encodeDotNorms(device, encoder, { x, y: x, elementCount: 0, results, resultIndex: 1 });
    device.queue.submit([encoder.finish()]);
    const [first, second] = await readDotNormsResults(device, results, 2);
    expect(first).toEqual({ dot: 7, normSqX: 7, normSqY: 7 });
    expect(second).toEqual({ dot: 0, normSqX: 0, normSqY: 0 });
    results.destroy();
    x.destroy();
  });

  it('rejects a missing or small scratch, aliased results and a bad result index', () => {
    const device = gpu!.device;
    const n = 3 * DOT_NORMS_TILE;
    const x = createWeightBuffer(device, n);
    const results = createDotNormsResults(device, 1);
    const small = createDotNormsScratch(device, DOT_NORMS_TILE + 1);
    const encoder = device.createCommandEncoder();
    expect(() => encodeDotNorms(device, encoder, { x, y: x, elementCount: n, results, resultIndex: 0 })).toThrow(KernelParamsError);
    expect(() => encodeDotNorms(device, encoder, { x, y: x, elementCount: n, results, resultIndex: 0, scratch: small })).toThrow(KernelParamsError);
    expect(() => encodeDotNorms(device, encoder, { x, y: x, elementCount: 8, results: x, resultIndex: 0 })).toThrow(KernelParamsError);
    expect(() => encodeDotNorms(device, encoder, { x, y: x, elementCount: 8, results, resultIndex: 1 })).toThrow(KernelParamsError);
    for (const b of [x, results]) b.destroy();
    small.destroy();
  });
});
