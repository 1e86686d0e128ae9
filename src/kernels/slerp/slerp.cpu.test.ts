import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats } from '../../gpu/buffers';
import { CounterRng } from '../rng/rng.cpu';
import { slerpGpu } from './';
import { firstMismatch, openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { testBufferPool } from '../../testing/gpu-buffers';
import { slerp, SLERP_DOT_THRESHOLD, slerpCoefficients, SlerpError, type SlerpCoefficients, type SlerpParams } from './slerp.cpu';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

interface Pair {
  a: Float32Array;
  b: Float32Array;
  params: SlerpParams;
}

/** SLERP a batch on a backend; the GPU path uploads, runs slerpGpu once for all, reads the outputs. */
async function runSlerp(backend: BackendName, pairs: Pair[]): Promise<{ out: Float32Array; coefficients: SlerpCoefficients }[]> {
  if (backend === 'cpu') return pairs.map(({ a, b, params }) => slerp(a, b, params));
  const device = gpu!.device;
  const { buffer, destroyAll } = testBufferPool(device);
  const tensors = pairs.map(({ a, b, params }) => ({ a: buffer(a.length, a), b: buffer(b.length, b), out: buffer(a.length), elementCount: a.length, params }));
  device.pushErrorScope('validation');
  const coefficients = await slerpGpu(device, tensors);
  const outs = await Promise.all(tensors.map((t) => readFloats(device, t.out, t.elementCount)));
  const error = await device.popErrorScope();
  destroyAll();
  if (error) throw new Error(`slerp.test.ts: GPU validation error: ${error.message}`);
  return outs.map((out, i) => ({ out, coefficients: coefficients[i]! }));
}

/** mergekit's slerp() in f64, written out independently: value and a magnitude scale per element. */
function reference({ a, b, params: { t } }: Pair): { value: Float64Array; scale: Float64Array } {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < a.length; j++) {
    dot += a[j]! * b[j]!;
    aa += a[j]! * a[j]!;
    bb += b[j]! * b[j]!;
  }
  const cos = dot / Math.sqrt(aa * bb);
  let s0 = 1 - t;
  let s1 = t;
  if (Math.abs(cos) <= SLERP_DOT_THRESHOLD) {
    const omega = Math.acos(cos);
    s0 = Math.sin((1 - t) * omega) / Math.sin(omega);
    s1 = Math.sin(t * omega) / Math.sin(omega);
  }
  return {
    value: Float64Array.from(a, (x, j) => s0 * x + s1 * b[j]!),
    scale: Float64Array.from(a, (x, j) => Math.abs(s0 * x) + Math.abs(s1 * b[j]!)),
  };
}

const rng = new CounterRng(0x51e4, 4);
const f32 = (...v: number[]): Float32Array => Float32Array.from(v);
const S = Math.SQRT1_2;

/** b = c·a + noise: cosine well inside (−1, 1), so the slerp branch is taken. */
function partner(a: Float32Array, c: number): Float32Array {
  const noise = seededFloats(rng, a.length);
  return Float32Array.from(a, (x, j) => c * x + noise[j]!);
}

function expectClose(got: Float32Array, want: number[], tol = 2e-7): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, j) => expect(Math.abs(got[j]! - w)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w))));
}

describe('slerp by hand (cpu)', () => {
  it('orthogonal unit vectors at t = 0.5 give (a + b)/√2', () => {
    const { out, coefficients } = slerp(f32(1, 0), f32(0, 1), { t: 0.5 });
    // Ω = π/2: weights sin(π/4)/sin(π/2) = 1/√2 each.
    expect(coefficients.mode).toBe('slerp');
    expect(coefficients.angle).toBeCloseTo(Math.PI / 2, 12);
    expect(coefficients.weightA).toBeCloseTo(S, 12);
    expect(coefficients.weightB).toBeCloseTo(S, 12);
    expectClose(out, [S, S]);
  });

  it('weights apply to the unnormalized tensors, as mergekit does', () => {
    // Angle from the directions (still π/2), then 1/√2·(2, 0) + 1/√2·(0, 3).
    const { out } = slerp(f32(2, 0), f32(0, 3), { t: 0.5 });
    expectClose(out, [2 * S, 3 * S]);
  });

  it('60° apart: t = 1/2 and t = 1/3 land on the arc at 30° and 20°', () => {
    const a = f32(1, 0);
    const b = f32(0.5, Math.sqrt(3) / 2);
    expectClose(slerp(a, b, { t: 0.5 }).out, [Math.sqrt(3) / 2, 0.5]);
    const deg20 = Math.PI / 9;
    expectClose(slerp(a, b, { t: 1 / 3 }).out, [Math.cos(deg20), Math.sin(deg20)]);
  });

  it('t = 0 returns a and t = 1 returns b exactly', () => {
    const a = seededFloats(rng, 257);
    const b = partner(a, 0.5);
    expect(slerp(a, b, { t: 0 }).out).toEqual(a);
    expect(slerp(a, b, { t: 1 }).out).toEqual(b);
  });

  it('colinear and anti-parallel tensors fall back to lerp', () => {
    const a = seededFloats(rng, 33);
    const par = slerp(a, Float32Array.from(a, (x) => 3 * x), { t: 0.25 });
    expect(par.coefficients).toMatchObject({ mode: 'lerp', fallback: 'colinear', weightA: 0.75, weightB: 0.25 });
    expectClose(par.out, Array.from(a, (x) => 0.75 * x + 0.25 * 3 * x), 1e-6);
    const anti = slerp(a, Float32Array.from(a, (x) => -2 * x), { t: 0.5 });
    expect(anti.coefficients).toMatchObject({ mode: 'lerp', fallback: 'colinear' });
    expectClose(anti.out, Array.from(a, (x) => 0.5 * x - x), 1e-6);
  });

  it('the colinear threshold is mergekit\'s 0.9995 and can be changed', () => {
    const at = (deg: number): Float32Array => f32(Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180));
    const a = at(0);
    // cos 1.5° = 0.99966 > 0.9995; cos 2.5° = 0.99905 < 0.9995.
    expect(slerp(a, at(1.5), { t: 0.5 }).coefficients.mode).toBe('lerp');
    expect(slerp(a, at(2.5), { t: 0.5 }).coefficients.mode).toBe('slerp');
    expect(slerp(a, at(1.5), { t: 0.5, dotThreshold: 1 - 1e-6 }).coefficients.mode).toBe('slerp');
    expectClose(slerp(a, at(1.5), { t: 0.5, dotThreshold: 1 - 1e-6 }).out, Array.from(at(0.75)), 1e-6);
  });

  it('a zero tensor falls back to lerp instead of mergekit\'s arbitrary 90° arc', () => {
    const b = seededFloats(rng, 9);
    const { out, coefficients } = slerp(new Float32Array(9), b, { t: 0.3 });
    expect(coefficients).toMatchObject({ mode: 'lerp', fallback: 'zero-norm', cosine: null, angle: null });
    expectClose(out, Array.from(b, (x) => Math.fround(0.3) * x), 1e-7);
  });

  it('coefficients from statistics: cos is clamped when rounding pushes it past ±1', () => {
    const c = slerpCoefficients({ dot: 4.000001, normSqX: 4, normSqY: 4 }, { t: 0.5 });
    expect(c).toMatchObject({ mode: 'lerp', cosine: 1, angle: 0 });
  });

  it('rejects bad t, mismatched or aliased arrays and non-finite weights', () => {
    const a = seededFloats(rng, 4);
    const b = seededFloats(rng, 4);
    for (const t of [-0.1, 1.5, Number.NaN]) expect(() => slerp(a, b, { t })).toThrow(SlerpError);
    expect(() => slerp(a, seededFloats(rng, 5), { t: 0.5 })).toThrow(SlerpError);
    expect(() => slerp(a, b, { t: 0.5 }, b)).toThrow(SlerpError);
    expect(() => slerp(a, b, { t: 0.5 }, new Float32Array(3))).toThrow(SlerpError);
    const bad = a.slice();
    bad[2] = Number.NaN;
    expect(() => slerp(bad, b, { t: 0.5 })).toThrow(/slerp\.ts: dot\/norms are not finite/);
  });
});

// f32 inputs, f32 weights and 2 f32 passes: a few 1e-7 relative to the magnitudes; the
// GPU's f32 reductions move cos by ~1e-7 more.
const REL_TOL = 2e-6;

describe.each(testBackends(gpu))('slerp on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 257, 100_003])('matches the f64 reference and the CPU twin, n = %i', async (n) => {
    const a = seededFloats(rng, n);
    const pairs: Pair[] = [
      { a, b: partner(a, 0.8), params: { t: 0.3 } },
      { a: seededFloats(rng, n), b: seededFloats(rng, n), params: { t: 0.7 } },
    ];
    const got = await runSlerp(name, pairs);
    const cpu = await runSlerp('cpu', pairs);
    got.forEach(({ out, coefficients }, i) => {
      const { value, scale } = reference(pairs[i]!);
      expect(firstMismatch(out, Float32Array.from(value), (j) => REL_TOL * scale[j]! + 1e-30)).toBe(-1);
      expect(firstMismatch(out, cpu[i]!.out, (j) => REL_TOL * scale[j]! + 1e-30)).toBe(-1);
      expect(coefficients.mode).toBe(cpu[i]!.coefficients.mode);
      expect(coefficients.mode).toBe(n === 1 ? 'lerp' : 'slerp');
    });
  });
});

describe.skipIf(!gpu)('slerp (webgpu)', () => {
  it('a batch with a different t per tensor, including t = 0, t = 1 and a lerp fallback', async () => {
    const a1 = seededFloats(rng, 5000);
    const a2 = seededFloats(rng, 3);
    const pairs: Pair[] = [
      { a: a1, b: partner(a1, -0.4), params: { t: 0 } },
      { a: a2, b: Float32Array.from(a2, (x) => 2 * x), params: { t: 0.4 } },
      { a: a1, b: partner(a1, 1.2), params: { t: 1 } },
      { a: a1, b: partner(a1, 0.1), params: { t: 0.55 } },
    ];
    const got = await runSlerp('webgpu', pairs);
    expect(got[0]!.out).toEqual(pairs[0]!.a);
    expect(got[1]!.coefficients).toMatchObject({ mode: 'lerp', fallback: 'colinear' });
    expect(got[2]!.out).toEqual(pairs[2]!.b);
    const { value, scale } = reference(pairs[3]!);
    expect(firstMismatch(got[3]!.out, Float32Array.from(value), (j) => REL_TOL * scale[j]!)).toBe(-1);
  });

  it('rejects out aliasing an input and a bad t before touching the GPU', async () => {
    const device = gpu!.device;
    const a = createWeightBuffer(device, 4);
    const b = createWeightBuffer(device, 4);
    const out = createWeightBuffer(device, 4);
    await expect(slerpGpu(device, [{ a, b, out: b, elementCount: 4, params: { t: 0.5 } }])).rejects.toThrow(SlerpError);
    await expect(slerpGpu(device, [{ a, b, out, elementCount: 4, params: { t: 2 } }])).rejects.toThrow(SlerpError);
    for (const buf of [a, b, out]) buf.destroy();
  });
});
