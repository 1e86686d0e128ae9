import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats } from '../../gpu/buffers';
import { modelStockGpu } from './';
import { CounterRng } from '../rng/rng.cpu';
import { firstMismatch, openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { testBufferPool } from '../../testing/gpu-buffers';
import { modelStock, modelStockCoefficients, ModelStockError, modelStockPairs, type ModelStockCoefficients, type ModelStockParams } from './model-stock.cpu';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

interface Stock {
  base: Float32Array;
  models: Float32Array[];
}

/** Model stock of a batch on a backend; the GPU path runs modelStockGpu once for all tensors. */
async function runStock(backend: BackendName, stocks: Stock[], params: ModelStockParams = {}): Promise<{ out: Float32Array; coefficients: ModelStockCoefficients }[]> {
  if (backend === 'cpu') return stocks.map(({ base, models }) => modelStock(base, models, params));
  const device = gpu!.device;
  const { buffer, destroyAll } = testBufferPool(device);
  const tensors = stocks.map(({ base, models }) => ({
    base: buffer(base.length, base),
    models: models.map((m) => buffer(m.length, m)),
    out: buffer(base.length),
    elementCount: base.length,
  }));
  device.pushErrorScope('validation');
  const coefficients = await modelStockGpu(device, tensors, params);
  const outs = await Promise.all(tensors.map((t) => readFloats(device, t.out, t.elementCount)));
  const error = await device.popErrorScope();
  destroyAll();
  if (error) throw new Error(`model-stock.test.ts: GPU validation error: ${error.message}`);
  return outs.map((out, i) => ({ out, coefficients: coefficients[i]! }));
}

/** mergekit's ModelStockMergeTask in f64, written out independently; scale = magnitudes combined. */
function reference({ base, models }: Stock): { t: number; value: Float64Array; scale: Float64Array } {
  const n = base.length;
  const N = models.length;
  const tau = models.map((m) => Float64Array.from(m, (v, j) => v - base[j]!));
  const dot = (u: Float64Array, v: Float64Array): number => u.reduce((s, x, j) => s + x * v[j]!, 0);
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const c = dot(tau[i]!, tau[j]!) / Math.max(Math.sqrt(dot(tau[i]!, tau[i]!) * dot(tau[j]!, tau[j]!)), 1e-6);
      sum += Math.min(1, Math.max(-1, c));
      pairs++;
    }
  }
  const cos = sum / pairs;
  const t = (N * cos) / (1 + (N - 1) * cos);
  const value = new Float64Array(n);
  const scale = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let mean = 0;
    let absMean = 0;
    for (const m of models) {
      mean += m[j]! / N;
      absMean += Math.abs(m[j]!) / N;
    }
    value[j] = t * mean + (1 - t) * base[j]!;
    scale[j] = Math.abs(t) * absMean + Math.abs(1 - t) * Math.abs(base[j]!);
  }
  return { t, value, scale };
}

const rng = new CounterRng(0x570c, 5);
const f32 = (...v: number[]): Float32Array => Float32Array.from(v);
const add = (base: Float32Array, tau: number[]): Float32Array => Float32Array.from(base, (v, j) => v + tau[j]!);

/** N fine-tunes of one base: shared direction plus per-model noise (pairwise cos ≈ 0.5). */
function randomStock(n: number, count: number): Stock {
  const base = seededFloats(rng, n);
  const shared = seededFloats(rng, n, 0.01, 0.1);
  const models = Array.from({ length: count }, () => {
    const noise = seededFloats(rng, n, 0.01, 0.1);
    return Float32Array.from(base, (v, j) => v + shared[j]! + noise[j]!);
  });
  return { base, models };
}

function expectClose(got: Float32Array, want: number[], tol = 5e-7): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, j) => expect(Math.abs(got[j]! - w)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w))));
}

describe('model stock by hand (cpu)', () => {
  const base = f32(1, -2, 0.5);

  it('task vectors in one direction (cos = 1) give t = 1: the mean of the models', () => {
    const models = [add(base, [1, 2, 0]), add(base, [2, 4, 0])];
    const { out, coefficients } = modelStock(base, models);
    expect(coefficients.cosine).toBeCloseTo(1, 12);
    expect(coefficients.t).toBeCloseTo(1, 12);
    expectClose(out, [1 + 1.5, -2 + 3, 0.5]);
  });

  it('orthogonal task vectors (cos = 0) give t = 0: the base', () => {
    const { out, coefficients } = modelStock(base, [add(base, [1, 0, 0]), add(base, [0, 3, 0])]);
    expect(coefficients).toMatchObject({ cosine: 0, t: 0, weightBase: 1, weightModel: 0 });
    expect(out).toEqual(base);
  });

  it('60° apart, N = 2: t = 2·½ / (1 + ½) = 2/3', () => {
    const models = [add(base, [2, 0, 0]), add(base, [0.5, Math.sqrt(3) / 2, 0])];
    const { out, coefficients } = modelStock(base, models);
    expect(coefficients.cosine).toBeCloseTo(0.5, 7);
    expect(coefficients.t).toBeCloseTo(2 / 3, 6);
    // base + t·mean(τ) = base + ⅔·(1.25, √3/4, 0)
    expectClose(out, [1 + (2 / 3) * 1.25, -2 + ((2 / 3) * Math.sqrt(3)) / 4, 0.5], 1e-6);
  });

  it('N = 3 takes the mean of the pairwise cosines (mergekit), cos = (0 + 2/√2)/3', () => {
    const models = [add(base, [1, 0, 0]), add(base, [0, 1, 0]), add(base, [1, 1, 0])];
    const { coefficients, out } = modelStock(base, models);
    const cos = Math.SQRT2 / 3;
    const t = (3 * cos) / (1 + 2 * cos);
    expect(coefficients.pairCosines[0]).toBe(0);
    expect(coefficients.pairCosines[1]).toBeCloseTo(Math.SQRT1_2, 7);
    expect(coefficients.cosine).toBeCloseTo(cos, 7);
    expect(coefficients.t).toBeCloseTo(t, 6);
    expectClose(out, [1 + (t * 2) / 3, -2 + (t * 2) / 3, 0.5], 1e-6);
  });

  it('a model equal to the base has cos 0 with every other (the 1e-6 norm floor), not NaN', () => {
    const models = [base.slice(), add(base, [1, 1, 0]), add(base, [2, 2, 0])];
    const { coefficients } = modelStock(base, models);
    expect(coefficients.pairCosines).toEqual([0, 0, expect.closeTo(1, 7)]);
    // cos = 1/3: t = 1 / (1 + 2/3) = 0.6
    expect(coefficients.t).toBeCloseTo(0.6, 6);
  });

  it('negative cos gives t < 0 as in mergekit; clampT turns it into the base', () => {
    const models = [add(base, [1, 0, 0]), add(base, [-1, 1, 0])];
    const cos = -Math.SQRT1_2;
    const loose = modelStock(base, models);
    expect(loose.coefficients.t).toBeCloseTo((2 * cos) / (1 + cos), 6);
    expect(loose.coefficients.t).toBeLessThan(-4);
    const clamped = modelStock(base, models, { clampT: true });
    expect(clamped.coefficients.t).toBe(0);
    expect(clamped.out).toEqual(base);
  });

  it('exactly cancelling task vectors are degenerate: t = 0 instead of a division by ~0', () => {
    const two = modelStock(base, [add(base, [1, 2, 3]), add(base, [-1, -2, -3])]);
    expect(two.coefficients).toMatchObject({ degenerate: true, t: 0 });
    expect(two.out).toEqual(base);
    // Three unit vectors 120° apart: mean cos = −½ = −1/(N − 1).
    const h = Math.sqrt(3) / 2;
    const three = modelStock(base, [add(base, [1, 0, 0]), add(base, [-0.5, h, 0]), add(base, [-0.5, -h, 0])]);
    expect(three.coefficients.degenerate).toBe(true);
    expect(three.out.every(Number.isFinite)).toBe(true);
  });

  it('pairs come in mergekit order and statistics must match them', () => {
    expect(modelStockPairs(4)).toEqual([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    const s = { dot: 1, normSqX: 1, normSqY: 1 };
    expect(() => modelStockCoefficients([s, s], 3)).toThrow(ModelStockError);
    expect(modelStockCoefficients([s, s, s], 3).t).toBeCloseTo(1, 12);
  });

  it('rejects fewer than 2 models, mismatched or aliased arrays and non-finite weights', () => {
    const m = seededFloats(rng, 3);
    expect(() => modelStock(base, [m])).toThrow(ModelStockError);
    expect(() => modelStock(base, [m, seededFloats(rng, 4)])).toThrow(ModelStockError);
    expect(() => modelStock(base, [m, seededFloats(rng, 3)], {}, m)).toThrow(ModelStockError);
    expect(() => modelStock(base, [m, seededFloats(rng, 3)], { normEps: -1 })).toThrow(ModelStockError);
    const bad = m.slice();
    bad[1] = Number.POSITIVE_INFINITY;
    expect(() => modelStock(base, [bad, m])).toThrow(/task vectors 0 and 1 have non-finite/);
  });
});

// f32 inputs and N + 1 f32 passes (≈ 1e-7 each, relative to the magnitudes); the GPU's
// f32 reductions move t by ~1e-6 relative more.
const REL_TOL = 5e-6;

describe.each(testBackends(gpu))('model stock on $name', ({ name, available }) => {
  it.skipIf(!available).each([1, 257, 100_003])('matches the f64 reference and the CPU twin, n = %i', async (n) => {
    const stocks = [randomStock(n, 3), randomStock(n, 2)];
    const got = await runStock(name, stocks);
    const cpu = await runStock('cpu', stocks);
    got.forEach(({ out, coefficients }, i) => {
      const { t, value, scale } = reference(stocks[i]!);
      expect(Math.abs(coefficients.t - t)).toBeLessThan(1e-5 * Math.max(1, Math.abs(t)));
      expect(firstMismatch(out, Float32Array.from(value), (j) => REL_TOL * scale[j]! + 1e-30)).toBe(-1);
      expect(firstMismatch(out, cpu[i]!.out, (j) => REL_TOL * scale[j]! + 1e-30)).toBe(-1);
    });
    if (n > 1) expect(got[0]!.coefficients.t).toBeGreaterThan(0.3);
  });
});

describe.skipIf(!gpu)('model stock (webgpu)', () => {
  it('a batch of tensors with different model counts, incl. t = 1 and t = 0 cases', async () => {
    const base = seededFloats(rng, 4000);
    const dir = seededFloats(rng, 4000);
    const same: Stock = { base, models: [1, 2, 3].map((k) => Float32Array.from(base, (v, j) => v + k * dir[j]!)) };
    const orth: Stock = { base: f32(1, -2, 0.5, 3), models: [f32(2, -2, 0.5, 3), f32(1, 1, 0.5, 3)] };
    const stocks = [randomStock(9000, 4), same, orth];
    const got = await runStock('webgpu', stocks);
    const ref = reference(stocks[0]!);
    expect(firstMismatch(got[0]!.out, Float32Array.from(ref.value), (j) => REL_TOL * ref.scale[j]!)).toBe(-1);
    expect(got[1]!.coefficients.t).toBeCloseTo(1, 5);
    const mean = Float32Array.from(base, (v, j) => v + 2 * dir[j]!);
    expect(firstMismatch(got[1]!.out, mean, (j) => 1e-5 * (Math.abs(base[j]!) + 3 * Math.abs(dir[j]!)))).toBe(-1);
    expect(got[2]!.coefficients.t).toBe(0);
    expect(got[2]!.out).toEqual(orth.base);
  });

  it('rejects out aliasing a model and fewer than 2 models', async () => {
    const device = gpu!.device;
    const [b, m1, m2, out] = [0, 1, 2, 3].map(() => createWeightBuffer(device, 4));
    await expect(modelStockGpu(device, [{ base: b!, models: [m1!, m2!], out: m2!, elementCount: 4 }])).rejects.toThrow(ModelStockError);
    await expect(modelStockGpu(device, [{ base: b!, models: [m1!], out: out!, elementCount: 4 }])).rejects.toThrow(ModelStockError);
    for (const buf of [b, m1, m2, out]) buf!.destroy();
  });
});
