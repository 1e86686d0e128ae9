import { afterEach, describe, expect, it, vi } from 'vitest';
import { deTrialCpu, type DeRoles } from '../kernels/de-step/de-step.cpu';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { seededFloats } from '../kernels/testing';
import type { FlatMerger } from '../merge/cpu-merger';
import type { ParameterLayout } from '../merge/layout';
import { OutOfMemoryError } from '../protocol/errors';
import { CpuPopulation } from './cpu-population';
import { allocatePopulation } from './population';
import { VectorMemory, WASM_MEMORY_MAX_PAGES, SCRATCH_PAGES } from './wasm-memory';

const rng = new CounterRng(0x3e3, 2);
const layoutOf = (n: number): ParameterLayout => ({
  slots: [
    { name: 'a', dims: [3], size: 3, offset: 0, depth: 0, layer: 'a' },
    { name: 'b', dims: [n - 3], size: n - 3, offset: 3, depth: 1, layer: 'b' },
  ],
  totalSize: n,
});
/** A merger that averages: enough to exercise merge() on the memory's vectors. */
const averaging: FlatMerger = {
  mergeInto(out: Float32Array, flats: readonly Float32Array[]) {
    for (let j = 0; j < out.length; j++) out[j] = flats.reduce((s, f) => s + f[j]!, 0) / flats.length;
  },
} as unknown as FlatMerger;

const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

afterEach(() => vi.restoreAllMocks());

describe('CpuPopulation on one WebAssembly.Memory', () => {
  it('runs the SIMD DE step in place, bit for bit the TS twin, through accepts; the memory never grows', async () => {
    const n = 10_007;
    const flats = Array.from({ length: 5 }, () => seededFloats(rng, n));
    const base = seededFloats(rng, n);
    const pop = new CpuPopulation(layoutOf(n), flats, averaging, base);
    expect(pop.deStepPath).toBe('wasm-simd');
    const mirror = flats.map((f) => f.slice());
    const bytes = (pop as unknown as { vectors: VectorMemory }).vectors.memory.buffer.byteLength;
    const roleSets: DeRoles<number>[] = [
      { target: 0, base: 0, plus: 3, minus: 0 }, // interpolation
      { target: 1, base: 2, plus: 3, minus: 4 }, // DE/rand/1
      { target: 2, base: 0, plus: 1, minus: 4 }, // DE/best/1
      { target: 3, base: 3, plus: 0, minus: 1 }, // DE/best/1 with the target best
    ];
    for (let k = 0; k < 12; k++) {
      const roles = roleSets[k % roleSets.length]!;
      const params = { f: 0.3 + 0.05 * k, cr: k === 5 ? 1 : k === 6 ? 0 : 0.4, seed: 11, stream: k + 1, jRand: k % 3 === 0 ? -1 : 17 * k };
      pop.trial(roles, params);
      const expected = new Float32Array(n);
      deTrialCpu({ target: mirror[roles.target]!, base: mirror[roles.base]!, plus: mirror[roles.plus]!, minus: mirror[roles.minus]! }, expected, { ...params, offset: 0 });
      const candidate = await pop.read('candidate');
      expect(bits(candidate)).toEqual(bits(expected));
      expect(pop.handles('candidate').every((h) => (h as Float32Array).buffer === (pop.handles(0)[0] as Float32Array).buffer)).toBe(true);
      await pop.merge(roles.target);
      if (k % 2 === 0) {
        pop.accept(roles.target);
        mirror[roles.target] = expected;
      }
    }
    for (let i = 0; i < flats.length; i++) expect(bits(await pop.read(i))).toEqual(bits(mirror[i]!));
    expect((pop as unknown as { vectors: VectorMemory }).vectors.memory.buffer.byteLength).toBe(bytes);
  });

  it('Top-k slots: past the capacity they are plain arrays (the TS twin runs), released memory slots are reused', async () => {
    const n = 37;
    const flats = Array.from({ length: 3 }, () => seededFloats(rng, n));
    const pop = new CpuPopulation(layoutOf(n), flats, averaging);
    const extra = pop.allocate();
    await pop.mergeInto([0, 1], extra);
    const plain = (await pop.read(extra)).slice();
    pop.trial({ target: extra, base: extra, plus: 0, minus: extra }, { f: 0.5, cr: 0.5, seed: 1, stream: 1, jRand: 2 });
    const expected = new Float32Array(n);
    deTrialCpu({ target: plain, base: plain, plus: flats[0]!, minus: plain }, expected, { f: 0.5, cr: 0.5, seed: 1, stream: 1, offset: 0, jRand: 2 });
    expect(bits(await pop.read('candidate'))).toEqual(bits(expected));
    const memoryBuffer = (pop.handles(1)[0] as Float32Array).buffer;
    expect((pop.handles(extra)[0] as Float32Array).buffer).not.toBe(memoryBuffer);
    pop.release(1);
    const again = pop.allocate();
    expect(again).toBe(1);
    expect((pop.handles(again)[0] as Float32Array).buffer).toBe(memoryBuffer);
  });

  it('sizes: slots 16-byte aligned, more than one wasm32 memory holds falls back to Float32Arrays', () => {
    expect(VectorMemory.pagesFor(5, 3)).toBe(1);
    expect(VectorMemory.fits(2 ** 28, 4)).toBe(false); // exactly 4 GiB
    expect(VectorMemory.fits(2 ** 28 - 2 ** 14, 4)).toBe(true);
    expect(VectorMemory.pagesFor(2 ** 28 - 2 ** 14, 4)).toBeLessThanOrEqual(WASM_MEMORY_MAX_PAGES);
    const memory = VectorMemory.open(5, 3)!;
    const views = [memory.take()!, memory.take()!, memory.take()!];
    expect(memory.take()).toBeNull();
    expect(views.map((v) => v.byteOffset)).toEqual([0, 32, 64]);
    expect(memory.scratch).toBeNull();
  });

  it('a shared memory holds the kernel threads\' scratch after its slots, where the pages allow', () => {
    const shared = VectorMemory.open(20_000, 3, true)!;
    expect(shared.shared).toBe(true);
    const slotsEnd = 3 * shared.stride * 4;
    expect(shared.scratch).toEqual({ at: VectorMemory.pagesFor(20_000, 3) * 65536, bytes: SCRATCH_PAGES * 65536 });
    expect(shared.scratch!.at).toBeGreaterThanOrEqual(slotsEnd);
    expect(shared.memory.buffer.byteLength).toBe(shared.scratch!.at + shared.scratch!.bytes);
  });

  it('a memory that cannot be had is an OutOfMemoryError with the numbers', () => {
    vi.spyOn(WebAssembly, 'Memory').mockImplementation(function refuse(): never {
      throw new RangeError('WebAssembly.Memory(): could not allocate memory');
    });
    const n = 1001;
    const flats = Array.from({ length: 2 }, () => seededFloats(rng, n));
    const build = () => allocatePopulation('WASM path', n, 2, () => new CpuPopulation(layoutOf(n), flats, averaging));
    expect(build).toThrow(OutOfMemoryError);
    expect(build).toThrow(/Out of memory on the WASM path.*WebAssembly\.Memory of 65536 bytes \(5 vectors of 1001 floats\) could not be allocated: WebAssembly\.Memory\(\): could not allocate memory/);
  });
});
