import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import type { EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { openTestGpu, seededFloats } from '../testing';
import {
  KEEP_NONE_BITS,
  keptByCut,
  kthLargestMagnitude,
  magnitudeBits,
  topKMagnitudeCut,
  trimCount,
  type MagnitudeCut,
} from './magnitude-select.cpu';
import { createCutTable, encodeTopKMagnitude, gpuKthLargestMagnitude, readCut } from './magnitude-select';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

const rng = new CounterRng(0x70bc, 5);

/** Sort-based reference: indices ordered by (|x| desc, index asc); tests may sort. */
function referenceOrder(values: Float32Array, base: Float32Array | null): { order: Int32Array; keys: Uint32Array } {
  const keys = new Uint32Array(values.length);
  for (let j = 0; j < values.length; j++) keys[j] = magnitudeBits(base ? values[j]! - base[j]! : values[j]!);
  const order = Int32Array.from(keys, (_, j) => j).sort((a, b) => keys[b]! - keys[a]! || a - b);
  return { order, keys };
}

/** The first k of the reference order, as a 0/1 mask. */
function referenceKept(values: Float32Array, base: Float32Array | null, k: number): Uint8Array {
  const { order } = referenceOrder(values, base);
  const mask = new Uint8Array(values.length);
  for (let r = 0; r < Math.min(k, values.length); r++) mask[order[r]!] = 1;
  return mask;
}

function cutMask(values: Float32Array, base: Float32Array | null, cut: MagnitudeCut): Uint8Array {
  return Uint8Array.from(values, (x, j) => (keptByCut(cut, magnitudeBits(base ? x - base[j]! : x), j) ? 1 : 0));
}

function countDiffs(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) d++;
  return d;
}

/** Values with many exact duplicates and zeros (±0): a few distinct magnitudes, random signs. */
function tiedFloats(n: number, distinct: number): Float32Array {
  const levels = seededFloats(rng, distinct);
  return Float32Array.from({ length: n }, () => {
    const r = rng.nextInt(distinct + 2);
    if (r === distinct) return 0;
    if (r === distinct + 1) return -0;
    return rng.nextU32() & 1 ? levels[r]! : -levels[r]!;
  });
}

/** Magnitudes over many octaves, so every radix pass has work. */
function wideFloats(n: number): Float32Array {
  return Float32Array.from(seededFloats(rng, n), (x) => x * 2 ** (rng.nextInt(60) - 30));
}

function ks(n: number): number[] {
  return [...new Set([1, n, Math.max(1, n >> 1), 1 + rng.nextInt(n), 1 + rng.nextInt(n)])];
}

describe('kthLargestMagnitude (cpu) against a sort', () => {
  it.each([1, 2, 255, 257, 4099, 100_003])('random data, n = %i', (n) => {
    for (const values of [seededFloats(rng, n), wideFloats(n)]) {
      const sorted = Float32Array.from(values, Math.abs).sort().reverse();
      for (const k of ks(n)) expect(kthLargestMagnitude(values, k)).toBe(sorted[k - 1]);
    }
  });

  it('duplicates, zeros and −0', () => {
    for (const n of [1, 3, 257, 10_001]) {
      const values = tiedFloats(n, 5);
      const sorted = Float32Array.from(values, Math.abs).sort().reverse();
      for (const k of ks(n)) expect(kthLargestMagnitude(values, k)).toBe(sorted[k - 1]);
    }
    expect(kthLargestMagnitude(Float32Array.of(-0, 0, -0), 2)).toBe(0);
    expect(kthLargestMagnitude(Float32Array.of(3, -7, 3, 1), 3)).toBe(3);
    expect(kthLargestMagnitude(Float32Array.of(Infinity, -1e30, 1e-30), 1)).toBe(Infinity);
  });

  it('rejects k outside [1, n]', () => {
    const v = seededFloats(rng, 4);
    for (const k of [0, 5, 1.5, -1]) expect(() => kthLargestMagnitude(v, k)).toThrow(KernelParamsError);
  });
});

describe('topKMagnitudeCut (cpu)', () => {
  it('keeps exactly k elements, the first k by (|x| desc, index asc), with and without a base', () => {
    for (const n of [1, 257, 5003]) {
      for (const [values, base] of [
        [seededFloats(rng, n), null],
        [tiedFloats(n, 3), null],
        [seededFloats(rng, n), seededFloats(rng, n)],
      ] as const) {
        for (const k of [0, ...ks(n), n + 3]) {
          const cut = topKMagnitudeCut(values, k, base);
          const mask = cutMask(values, base, cut);
          expect(mask.reduce((s, m) => s + m, 0)).toBe(Math.min(k, n));
          expect(countDiffs(mask, referenceKept(values, base, k))).toBe(0);
        }
      }
    }
  });

  it('breaks ties at the threshold by index (hand case) and encodes k = 0 / k ≥ n', () => {
    // |x| = [2, 5, 2, 2, 1]: k = 3 keeps 5 (j = 1), then the ties at 2 in index order: j = 0, 2.
    const cut = topKMagnitudeCut(Float32Array.of(2, -5, -2, 2, 1), 3);
    expect(cut).toEqual({ thresholdBits: magnitudeBits(2), tieEnd: 3 });
    expect(topKMagnitudeCut(Float32Array.of(2, -5, -2, 2, 1), 4)).toEqual({ thresholdBits: magnitudeBits(2), tieEnd: 5 });
    expect(topKMagnitudeCut(Float32Array.of(1, 2), 0)).toEqual({ thresholdBits: KEEP_NONE_BITS, tieEnd: 0 });
    expect(topKMagnitudeCut(Float32Array.of(1, 2), 2)).toEqual({ thresholdBits: 0, tieEnd: 2 });
  });

  it('trimCount rounds density·n and rejects densities outside [0, 1]', () => {
    expect(trimCount(0.5, 3)).toBe(2);
    expect(trimCount(0.2, 10)).toBe(2);
    expect(trimCount(1, 7)).toBe(7);
    expect(trimCount(0, 7)).toBe(0);
    expect(() => trimCount(1.2, 5)).toThrow(KernelParamsError);
    expect(() => trimCount(Number.NaN, 5)).toThrow(KernelParamsError);
  });
});

describe.skipIf(!gpu)('top-k magnitude select (webgpu) vs cpu', () => {
  async function gpuCut(values: Float32Array, base: Float32Array | null, k: number, opts: EncodeOptions = {}): Promise<MagnitudeCut> {
    const device = gpu!.device;
    const n = values.length;
    const v = createWeightBuffer(device, n);
    uploadFloats(device, v, values);
    const b = base ? createWeightBuffer(device, n) : null;
    if (b) uploadFloats(device, b, base!);
    const table = createCutTable(device, 3);
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    encodeTopKMagnitude(device, encoder, v, b, n, k, table, 2, opts);
    device.queue.submit([encoder.finish()]);
    const cut = await readCut(device, table, 2);
    const error = await device.popErrorScope();
    v.destroy();
    b?.destroy();
    table.destroy();
    if (error) throw new Error(`magnitude-select.test.ts: GPU validation error: ${error.message}`);
    return cut;
  }

  it.each([1, 257, 100_003])('the same cut bit for bit, n = %i', async (n) => {
    for (const [values, base] of [
      [seededFloats(rng, n), null],
      [wideFloats(n), seededFloats(rng, n)],
      [tiedFloats(n, 4), null],
    ] as const) {
      for (const k of [0, ...ks(n)]) expect(await gpuCut(values, base, k)).toEqual(topKMagnitudeCut(values, k, base));
    }
  });

  it('chunked bindings and a folded 2-D grid give the same cut (ties straddling chunks)', async () => {
    const n = 50_001;
    const values = tiedFloats(n, 3);
    const base = seededFloats(rng, n).map((x) => (rng.nextInt(4) === 0 ? x : 0));
    for (const k of [1 + rng.nextInt(n), n >> 1, n - 1]) {
      const cpu = topKMagnitudeCut(values, k, base);
      if (k === n - 1) expect(cpu.tieEnd).toBeLessThan(n); // the cut falls among the zeros: tie-break passes run
      expect(await gpuCut(values, base, k, { maxBindingBytes: 40_000, maxWorkgroupsPerDimension: 3 })).toEqual(cpu);
      expect(await gpuCut(values, null, k, { maxBindingBytes: 65_536 })).toEqual(topKMagnitudeCut(values, k));
    }
  });

  it('gpuKthLargestMagnitude matches the CPU select and the sort, k = 1 … n', async () => {
    const device = gpu!.device;
    const n = 4099;
    const values = wideFloats(n);
    const buf = createWeightBuffer(device, n);
    uploadFloats(device, buf, values);
    const sorted = Float32Array.from(values, Math.abs).sort().reverse();
    for (const k of ks(n)) expect(await gpuKthLargestMagnitude(device, buf, n, k)).toBe(sorted[k - 1]);
    // The select reads the input only.
    expect(await readFloats(device, buf, n)).toEqual(values);
    buf.destroy();
  });

  it('rejects a slot outside the table and a bad k', () => {
    const device = gpu!.device;
    const buf = createWeightBuffer(device, 8);
    const table = createCutTable(device, 1);
    const encoder = device.createCommandEncoder();
    expect(() => encodeTopKMagnitude(device, encoder, buf, null, 8, 2, table, 1)).toThrow(KernelParamsError);
    expect(() => encodeTopKMagnitude(device, encoder, buf, null, 8, -1, table, 0)).toThrow(KernelParamsError);
    buf.destroy();
    table.destroy();
  });
});
