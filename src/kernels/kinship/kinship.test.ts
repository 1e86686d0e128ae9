import { afterAll, describe, expect, it } from 'vitest';
import { gpuTransferCounters, resetGpuTransferCounters } from '../../gpu/buffers';
import { testBufferPool } from '../../testing/gpu-buffers';
import { kinshipMetrics } from '../../search/kinship';
import { type KinshipMetrics } from '../../protocol/results';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { kinshipMomentsCpu, kinshipMomentsGpu, type KinshipMoments } from './index';
import { kinshipMomentsWith } from './kinship.cpu';
import { STAGED_BLOCK } from '../staged-merges/staged-merges.wasm';
import { THREAD_CHUNK } from '../threads/chunked-call';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

interface Case {
  x: Float32Array;
  y: Float32Array;
  reference: Float32Array | null;
}

async function run(backend: BackendName, cases: Case[]): Promise<KinshipMoments[]> {
  if (backend === 'cpu') return cases.map((c) => kinshipMomentsCpu(c.x, c.y, c.reference));
  const device = gpu!.device;
  const { buffer, destroyAll } = testBufferPool(device);
  const items = cases.map((c) => ({ x: buffer(c.x.length, c.x), y: buffer(c.y.length, c.y), reference: c.reference ? buffer(c.reference.length, c.reference) : null, elementCount: c.x.length }));
  device.pushErrorScope('validation');
  const out = await kinshipMomentsGpu(device, items);
  const error = await device.popErrorScope();
  destroyAll();
  if (error) throw new Error(`kinship.test.ts: GPU validation error: ${error.message}`);
  return out;
}

/** Float64 metrics with Neumaier-compensated sums: the reference the twins are held to. */
function reference({ x, y, reference: c }: Case): KinshipMetrics {
  const n = x.length;
  const sums = new Float64Array(6);
  const comp = new Float64Array(6);
  const add = (k: number, v: number) => {
    const s = sums[k]!;
    const t = s + v;
    comp[k]! += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    sums[k] = t;
  };
  for (let j = 0; j < n; j++) {
    const r = c ? c[j]! : 0;
    const a = x[j]! - r;
    const b = y[j]! - r;
    const d = x[j]! - y[j]!;
    add(0, a);
    add(1, b);
    add(2, a * b);
    add(3, a * a);
    add(4, b * b);
    add(5, d * d);
  }
  const total = (k: number) => sums[k]! + comp[k]!;
  // Two-pass centred sums for Pearson, so the reference does not share the raw-moment formula.
  const meanA = total(0) / n;
  const meanB = total(1) / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let j = 0; j < n; j++) {
    const r = c ? c[j]! : 0;
    const a = x[j]! - r - meanA;
    const b = y[j]! - r - meanB;
    cov += a * b;
    va += a * a;
    vb += b * b;
  }
  return { pearson: cov / Math.sqrt(va * vb), cosine: total(2) / Math.sqrt(total(3) * total(4)), euclidean: Math.sqrt(total(5)) };
}

function relErrors(got: KinshipMetrics, want: KinshipMetrics): number[] {
  return (['pearson', 'cosine', 'euclidean'] as const).map((k) => Math.abs(got[k] - want[k]) / Math.abs(want[k]));
}

const rng = new CounterRng(0x6b1, 7);

/**
 * Two fine-tunes of one base: small task vectors (scale 1e-2) on base weights of scale 1,
 * correlated (δ_y = 0.6 δ_x + 0.5 noise) and with a non-zero mean, as real deltas have.
 */
function fineTunes(n: number): Case {
  const base = seededFloats(rng, n);
  const dx = seededFloats(rng, n, 0.001, 0.02);
  const noise = seededFloats(rng, n, 0.001, 0.02);
  const x = Float32Array.from(base, (b, j) => b + dx[j]! + 0.003);
  const y = Float32Array.from(base, (b, j) => b + 0.6 * dx[j]! + 0.5 * noise[j]!);
  return { x, y, reference: base };
}

describe('kinship cpu twin, by hand', () => {
  it('sums the six moments without and with a reference', () => {
    const x = Float32Array.of(1, 2, 3);
    const y = Float32Array.of(4, -5, 6);
    expect(kinshipMomentsCpu(x, y)).toEqual({ n: 3, sumA: 6, sumB: 5, sumAB: 12, sumAA: 14, sumBB: 77, sumDD: 9 + 49 + 9 });
    // a = (0, 1, 2), b = (3, −6, 5) against reference 1; x − y does not depend on it.
    expect(kinshipMomentsCpu(x, y, Float32Array.of(1, 1, 1))).toEqual({ n: 3, sumA: 3, sumB: 2, sumAB: 4, sumAA: 5, sumBB: 70, sumDD: 67 });
  });

  it('gives Pearson 1 / −1, cosine and distance of hand-checked vectors', () => {
    const a = Float32Array.of(1, 2, 3, 4);
    expect(kinshipMetrics(kinshipMomentsCpu(a, Float32Array.of(3, 5, 7, 9)))).toEqual({ pearson: 1, cosine: expect.closeTo(70 / Math.sqrt(30 * 164), 12), euclidean: Math.sqrt(4 + 9 + 16 + 25) });
    expect(kinshipMetrics(kinshipMomentsCpu(a, Float32Array.of(4, 3, 2, 1))).pearson).toBeCloseTo(-1, 12);
    const orthogonal = kinshipMetrics(kinshipMomentsCpu(Float32Array.of(1, 0), Float32Array.of(0, 1)));
    expect(orthogonal.cosine).toBe(0);
    expect(orthogonal.pearson).toBeCloseTo(-1, 12);
    // A model equal to the reference has no task vector: correlation is undefined, not 0.
    const none = kinshipMetrics(kinshipMomentsCpu(a, Float32Array.of(5, 1, 2, 2), a));
    expect(none.pearson).toBeNaN();
    expect(none.cosine).toBeNaN();
    expect(none.euclidean).toBeCloseTo(Math.sqrt(16 + 1 + 1 + 4), 12);
  });

  it('WebAssembly SIMD has the TypeScript loop\'s bits: four lanes (j mod 4) within each thread chunk, the chunks added in order', () => {
    const r = new CounterRng(0x4b1, 5);
    for (const n of [1, 6, 7, STAGED_BLOCK + 4099, 2 * THREAD_CHUNK + 4097]) {
      const base = seededFloats(r, n, 1e-3, 4);
      const [x, y] = [0, 1].map(() => base.map((b) => b + seededFloats(r, 1, 1e-4, 3)[0]!));
      for (const reference of [null, base]) {
        const simd = kinshipMomentsWith(x!, y!, reference, true);
        const loop = kinshipMomentsWith(x!, y!, reference, false);
        expect(simd, `${n} floats, ${reference ? 'against the base' : 'no reference'}`).toEqual(loop);
        // And the sums are the moments: a plain f64 loop agrees to rounding.
        let sab = 0;
        let sdd = 0;
        for (let j = 0; j < n; j++) {
          const c = reference ? reference[j]! : 0;
          sab += (x![j]! - c) * (y![j]! - c);
          sdd += (x![j]! - y![j]!) ** 2;
        }
        expect(loop.sumAB / sab).toBeCloseTo(1, 12);
        expect(loop.sumDD / sdd).toBeCloseTo(1, 12);
      }
    }
  });

  it('rejects mismatched lengths', () => {
    expect(() => kinshipMomentsCpu(new Float32Array(3), new Float32Array(4))).toThrow(KernelParamsError);
    expect(() => kinshipMomentsCpu(new Float32Array(3), new Float32Array(3), new Float32Array(2))).toThrow(KernelParamsError);
  });
});

describe.each(testBackends(gpu))('kinship on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 257, 100_003])('matches the f64 reference, n = %i', async (n) => {
    const tuned = fineTunes(n);
    const cases: Case[] = [tuned, { ...tuned, reference: null }, { x: seededFloats(rng, n), y: seededFloats(rng, n), reference: seededFloats(rng, n) }];
    const got = await run(name, cases);
    got.forEach((moments, i) => {
      expect(moments.n).toBe(n);
      if (n === 1) {
        // One element: no variance (Pearson NaN); cosine is ±1 and the distance exact.
        expect(kinshipMetrics(moments).pearson).toBeNaN();
        expect(Math.abs(kinshipMetrics(moments).cosine)).toBeCloseTo(1, 5);
        return;
      }
      for (const e of relErrors(kinshipMetrics(moments), reference(cases[i]!))) expect(e).toBeLessThan(1e-5);
    });
  });

  it.skipIf(!available)('10M-element task vectors: Pearson, cosine and distance within 1e-5 of float64', async () => {
    const cases = [fineTunes(10_000_000)];
    const [moments] = await run(name, cases);
    const want = reference(cases[0]!);
    const errors = relErrors(kinshipMetrics(moments!), want);
    for (const e of errors) expect(e).toBeLessThan(1e-5);
    // The vectors are related, not identical: a wrong reduction could not pass by accident.
    expect(want.pearson).toBeGreaterThan(0.3);
    expect(want.pearson).toBeLessThan(0.95);
  });
});

describe.skipIf(!gpu)('kinship (webgpu) batch', () => {
  it('reads back 32 bytes per item and nothing else', async () => {
    const sizes = [5000, 3, 70_001];
    const cases = sizes.map((n) => fineTunes(n));
    resetGpuTransferCounters();
    const got = await run('webgpu', cases);
    expect(gpuTransferCounters.bytesReadBack).toBe(32 * sizes.length);
    got.forEach((m, i) => {
      for (const e of relErrors(kinshipMetrics(m), reference(cases[i]!))) expect(e).toBeLessThan(1e-5);
    });
  });
});
