import { afterAll, describe, expect, it } from 'vitest';
import { readFloats, uploadFloats } from '../../gpu/buffers';
import { dispatch1d, getComputePipeline } from '../../gpu/dispatch';
import { linearIndexWgsl, WORKGROUP_SIZE } from '../shared.wgsl';
import { openTestGpu } from '../testing';
import {
  CounterRng,
  mix32,
  probabilityThreshold,
  randomU32,
  randomU32Keyed,
  randomUnit,
  rngKey,
  RNG_UNIT_SCALE,
  RngRangeError,
} from './rng.cpu';
import { rngWgsl } from './rng.wgsl';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

/** Chi-square statistic of values in [0,1) over `bins` equal bins. */
function chiSquare(values: ArrayLike<number>, bins: number): number {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.floor(values[i]! * bins)]!++;
  const expected = values.length / bins;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

function stream(seed: number, streamId: number, n: number, start = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = randomUnit(seed, streamId, start + i);
  return out;
}

// χ² with 15 degrees of freedom: P(χ² > 37.7) = 0.001.
const CHI2_15_P001 = 37.7;

describe('rng (cpu)', () => {
  it('mix32 is lowbias32 (values from an independent arbitrary-precision computation)', () => {
    // Python: x ^= x>>16; x = x*0x7feb352d & M; x ^= x>>15; x = x*0x846ca68b & M; x ^= x>>16
    expect(mix32(0)).toBe(0);
    expect(mix32(1)).toBe(0x688990c0);
    expect(mix32(2)).toBe(0xd1132181);
    expect(mix32(0xdeadbeef)).toBe(0xe628c683);
    expect(mix32(0xffffffff)).toBe(0x6768824a);
    // Bijection spot check: distinct inputs → distinct outputs over a block.
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) seen.add(mix32(i * 2654435761));
    expect(seen.size).toBe(50_000);
  });

  it('randomU32 is a pure function of (seed, stream, counter) taken as u32', () => {
    expect(randomU32(7, 3, 11)).toBe(randomU32(7, 3, 11));
    expect(randomU32(-1, 3, 11)).toBe(randomU32(0xffffffff, 3, 11));
    expect(randomU32(7, 3 + 2 ** 32, 11)).toBe(randomU32(7, 3, 11));
    const [k0, k1] = rngKey(7, 3);
    expect(randomU32Keyed(k0, k1, 11)).toBe(randomU32(7, 3, 11));
    expect(randomU32(7, 3, 11)).not.toBe(randomU32(7, 3, 12));
    expect(randomU32(7, 3, 11)).not.toBe(randomU32(7, 4, 11));
    expect(randomU32(7, 3, 11)).not.toBe(randomU32(8, 3, 11));
  });

  it('randomUnit is uniform on [0,1): mean ≈ 0.5 and χ² on 16 bins, for several seeds and streams', () => {
    const pick = new CounterRng(20240611, 0);
    for (let t = 0; t < 4; t++) {
      const values = stream(pick.nextU32(), pick.nextU32(), 100_000);
      let mean = 0, min = 1, max = 0;
      for (const v of values) { mean += v; min = Math.min(min, v); max = Math.max(max, v); }
      mean /= values.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // 5.5 standard errors
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThan(1);
      expect(chiSquare(values, 16)).toBeLessThan(CHI2_15_P001);
    }
  });

  it('different streams and seeds are decorrelated (incl. adjacent ones), and lag-1 within a stream', () => {
    const n = 100_000;
    const base = stream(99, 5, n);
    for (const other of [stream(99, 6, n), stream(100, 5, n), stream(99, 5, n, 1), stream(98, 4, n)]) {
      expect(Math.abs(pearson(base, other))).toBeLessThan(0.015); // ~4.7 standard errors
    }
    // Pairs (stream a, stream b) at the same counter fill 16×16 cells evenly (independence, not just correlation).
    const other = stream(99, 6, n);
    const joint = new Float64Array(n);
    for (let i = 0; i < n; i++) joint[i] = (Math.floor(base[i]! * 4) * 4 + Math.floor(other[i]! * 4)) / 16;
    expect(chiSquare(joint, 16)).toBeLessThan(CHI2_15_P001);
  });

  it('probabilityThreshold turns `unit < p` into an exact integer comparison', () => {
    const rng = new CounterRng(1, 2);
    const ps = [0, 1, 0.5, 1e-9, 1 - 1e-9, 2 ** -24, 3 * 2 ** -24, 0.1, 0.9];
    for (let i = 0; i < 200; i++) ps.push(rng.nextUnit(), rng.nextU32() / 2 ** 32);
    for (const p of ps) {
      const t = probabilityThreshold(p);
      const k = Math.floor(p * 2 ** 24);
      for (const m of [k - 2, k - 1, k, k + 1, k + 2]) {
        if (m < 0 || m >= 2 ** 24) continue;
        expect(m < t).toBe(m * RNG_UNIT_SCALE < p);
      }
    }
    expect(probabilityThreshold(-0.5)).toBe(0);
    expect(probabilityThreshold(Number.NaN)).toBe(0);
    expect(probabilityThreshold(1.5)).toBe(2 ** 24);
  });
});

describe('CounterRng', () => {
  it('replays from (seed, stream) and matches randomU32 at each counter', () => {
    const a = new CounterRng(42, 9);
    const b = new CounterRng(42, 9);
    const draws = Array.from({ length: 20 }, () => a.nextU32());
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(draws);
    expect(draws).toEqual(Array.from({ length: 20 }, (_, i) => randomU32(42, 9, i)));
    const u = new CounterRng(42, 9).nextUnit();
    expect(u).toBe(randomUnit(42, 9, 0));
  });

  it('nextInt is in range and unbiased for awkward n (χ²)', () => {
    const rng = new CounterRng(3, 1);
    for (const n of [1, 2, 3, 7, 16, 1000, 2 ** 31 + 1, 2 ** 32]) {
      for (let i = 0; i < 200; i++) {
        const v = rng.nextInt(n);
        expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
      }
    }
    const samples = new Float64Array(80_000);
    for (let i = 0; i < samples.length; i++) samples[i] = rng.nextInt(16) / 16;
    expect(chiSquare(samples, 16)).toBeLessThan(CHI2_15_P001);
    // n = 3·2^30: a plain `% n` would put 2× the mass on [0, 2^30); rejection removes that.
    const big = 3 * 2 ** 30;
    let low = 0;
    for (let i = 0; i < 30_000; i++) if (rng.nextInt(big) < 2 ** 30) low++;
    expect(Math.abs(low / 30_000 - 1 / 3)).toBeLessThan(0.02);
    expect(() => rng.nextInt(0)).toThrow(RngRangeError);
    expect(() => rng.nextInt(2.5)).toThrow(RngRangeError);
  });

  it('permutation is a permutation, seeded, and uniform on small n', () => {
    const p = new CounterRng(5, 0).permutation(1000);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(new CounterRng(5, 0).permutation(1000)).toEqual(p);
    expect(new CounterRng(6, 0).permutation(1000)).not.toEqual(p);
    expect(new CounterRng(5, 0).permutation(0)).toEqual([]);
    // All 6 orders of 3 items, each ≈ 1/6 (χ², 5 dof: P(> 20.5) = 0.001).
    const rng = new CounterRng(8, 8);
    const counts = new Map<string, number>();
    const trials = 30_000;
    for (let i = 0; i < trials; i++) {
      const key = rng.permutation(3).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const chi = [...counts.values()].reduce((s, c) => s + (c - trials / 6) ** 2 / (trials / 6), 0);
    expect(chi).toBeLessThan(20.5);
  });
});

describe.skipIf(!gpu)('rng (webgpu) vs cpu', () => {
  it('random_u32 and random_unit match the TS twin bit-exactly on 100k random (seed, stream, counter)', async () => {
    const device = gpu!.device;
    const n = 100_003;
    const rng = new CounterRng(0xc0ffee, 77);
    const triples = new Uint32Array(n * 4);
    for (let i = 0; i < n; i++) {
      triples[i * 4] = rng.nextU32();
      triples[i * 4 + 1] = i % 5 === 0 ? rng.nextInt(8) : rng.nextU32();
      triples[i * 4 + 2] = i % 7 === 0 ? 0xffffffff - rng.nextInt(4) : i % 3 === 0 ? i : rng.nextU32();
    }
    const code = /* wgsl */ `
      @group(0) @binding(0) var<storage, read> inputs: array<vec4<u32>>;
      @group(0) @binding(1) var<storage, read_write> bits: array<u32>;
      @group(0) @binding(2) var<storage, read_write> units: array<f32>;
      ${rngWgsl()}
      ${linearIndexWgsl(WORKGROUP_SIZE)}
      @compute @workgroup_size(${WORKGROUP_SIZE})
      fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) num_groups: vec3<u32>) {
        let i = linear_index(gid, num_groups);
        if (i >= arrayLength(&bits)) { return; }
        let t = inputs[i];
        bits[i] = random_u32(t.x, t.y, t.z);
        units[i] = random_unit(t.x, t.y, t.z);
      }`;
    device.pushErrorScope('validation');
    const pipeline = getComputePipeline(device, code);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const inBuf = device.createBuffer({ size: triples.byteLength, usage });
    const bitsBuf = device.createBuffer({ size: n * 4, usage });
    const unitsBuf = device.createBuffer({ size: n * 4, usage });
    uploadFloats(device, inBuf, new Float32Array(triples.buffer));
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [inBuf, bitsBuf, unitsBuf].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = device.createCommandEncoder();
    dispatch1d(device, encoder, pipeline, bindGroup, n, WORKGROUP_SIZE, { maxWorkgroupsPerDimension: 100 });
    device.queue.submit([encoder.finish()]);
    const gpuBits = new Uint32Array((await readFloats(device, bitsBuf, n)).buffer);
    const gpuUnits = await readFloats(device, unitsBuf, n);
    expect(await device.popErrorScope()).toBeNull();
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const [s, st, c] = [triples[i * 4]!, triples[i * 4 + 1]!, triples[i * 4 + 2]!];
      if (gpuBits[i] !== randomU32(s, st, c) || gpuUnits[i] !== randomUnit(s, st, c)) mismatches++;
    }
    expect(mismatches).toBe(0);
    for (const b of [inBuf, bitsBuf, unitsBuf]) b.destroy();
  });
});
