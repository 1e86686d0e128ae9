/**
 * The WebGPU population held to the CPU population: the same mutation (crossover
 * mask exact, values to f32 rounding), the same merge for every merger wired on the
 * GPU (each with as many models as its needs say), accept as a swap, and no weight bytes
 * read back while doing so (a batched merger: at most 16 bytes per model pair and tensor).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuPopulation } from './cpu-population';
import { interpolationVectors } from '../kernels/de-step/de-step.cpu';
import { CpuMerger } from '../merge/cpu-merger';
import { GpuPopulation, GPU_MERGE_METHODS } from './gpu-population';
import { DEFAULT_MERGE, type MergeMethod, type MergeParams } from '../protocol/settings';
import { findMethod, gpuPlan } from '../merge/registry';
import type { ParameterLayout } from '../merge/layout';
import { gpuTransferCounters } from '../gpu/buffers';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { openTestGpu, seededFloats } from '../kernels/testing';
import { regmeanOperators } from '../kernels/linear-operator';
import type { StudioDevice } from '../gpu/device';

const layout: ParameterLayout = {
  slots: [
    { name: 'w', dims: [37, 29], size: 1073, offset: 0, depth: 0, layer: 'l0' },
    { name: 'b', dims: [257], size: 257, offset: 1073, depth: 0.4, layer: 'l0.4' },
    { name: 's', dims: [1], size: 1, offset: 1330, depth: 1, layer: 'l1' },
  ],
  totalSize: 1331,
};

let gpu: StudioDevice | null = null;
beforeAll(async () => {
  gpu = await openTestGpu();
});
afterAll(() => gpu?.device.destroy());

function inputs(seed: number, n = 3) {
  const rng = new CounterRng(seed, 1);
  const base = seededFloats(rng, layout.totalSize);
  const models = Array.from({ length: n }, () => Float32Array.from(seededFloats(rng, layout.totalSize, 0.01, 0.5), (d, i) => base[i] + d));
  return { base, models };
}

function closeTo(a: Float32Array, b: Float32Array, tol = 1e-5): number {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])))) bad++;
  return bad;
}

describe('GpuPopulation vs CpuPopulation', () => {
  // RegMean and Fisher need data-derived inputs: tested separately below.
  const methods = [...GPU_MERGE_METHODS].filter((m) => m !== 'regmean' && m !== 'fisher') as MergeMethod[];
  it.each(methods)('%s: merge with the candidate in place matches the CPU twin', async (method) => {
    if (!gpu) return;
    const def = findMethod(method)!;
    // As many models as the method takes: exactly needs.models, else three (or its minimum).
    const n = def.needs.models ?? Math.max(3, def.needs.minModels ?? 0);
    const { base, models } = inputs(7, n);
    // DARE by 1/p here (no read-back); mergekit's default L1-norm rescale: src/kernels/task-vector/dare-norms.test.ts.
    const params = { ...DEFAULT_MERGE, method, density: 0.6, lambda: 0.8, seed: 3, rescale_norm: 'density' } as MergeParams;
    const cpu = new CpuPopulation(layout, models, new CpuMerger(layout, params, base));
    const gpuPop = new GpuPopulation(gpu.device, layout, models, params, base);
    const mutation = { f: 0.5, cr: 0.5, seed: 11, stream: 4, jRand: 600 };
    cpu.trial(interpolationVectors(1, 0), mutation);
    gpuPop.trial(interpolationVectors(1, 0), mutation);
    const readBefore = gpuTransferCounters.bytesReadBack;
    await cpu.merge(1);
    await gpuPop.merge(1);
    // A batched merger (SLERP, model stock, the spherical methods) reads back a few bytes of
    // per-tensor statistics per model pair (dot products, norms): at most 16 bytes per pair
    // and tensor, never weights. An encoder merger reads nothing back.
    const probe = def.gpu!({ device: gpu.device, layout, modelCount: n, largest: 1073, inputs: gpuPlan(params, null, layout)?.inputs ?? null, params });
    const kind = probe.kind;
    probe.destroy();
    const pairs = Math.max(1, (n * (n - 1)) / 2);
    const reductionBytes = kind === 'batched' ? 16 * pairs * layout.slots.length : 0;
    const readBack = gpuTransferCounters.bytesReadBack - readBefore;
    expect(readBack).toBeLessThanOrEqual(reductionBytes);
    const [c, g] = [await cpu.read('merged'), await gpuPop.read('merged')];
    // TIES votes within rounding of zero may flip on fused multiply-adds: allow a handful.
    expect(closeTo(g, c)).toBeLessThanOrEqual(method.includes('ties') ? 3 : 0);
    expect(closeTo(await gpuPop.read('candidate'), await cpu.read('candidate'))).toBe(0);
    gpuPop.dispose();
  });

  it('NuSLERP without flatten (row by row) stays on the CPU; flattened it runs on the GPU', () => {
    const nuslerp = { ...DEFAULT_MERGE, method: 'nuslerp' } as MergeParams;
    expect(gpuPlan(nuslerp, null, layout)).not.toBeNull();
    expect(gpuPlan({ ...nuslerp, nuslerp_flatten: false } as MergeParams, null, layout)).toBeNull();
  });

  it('per-tensor rules (density over depth, λ by name) apply the same on both paths', async () => {
    if (!gpu) return;
    const { base, models } = inputs(13);
    const params: MergeParams = { ...DEFAULT_MERGE, method: 'ties', rules: { density: [0.2, 0.9], lambda: [{ filter: 'b', value: 0.5 }, { value: 1 }] } };
    const cpu = new CpuPopulation(layout, models, new CpuMerger(layout, params, base));
    const gpuPop = new GpuPopulation(gpu.device, layout, models, params, base);
    await cpu.merge(null);
    await gpuPop.merge(null);
    const c = await cpu.read('merged');
    expect(closeTo(await gpuPop.read('merged'), c)).toBeLessThanOrEqual(3);
    // The rules changed the result: a scalar density 0.5 merges differently.
    const plain = new CpuPopulation(layout, models, new CpuMerger(layout, { ...params, rules: undefined, density: 0.5 }, base));
    await plain.merge(null);
    expect(closeTo(await plain.read('merged'), c)).toBeGreaterThan(100);
    gpuPop.dispose();
  });

  it.each(['average', 'task_arithmetic', 'ties', 'dare_linear'] as const)('%s: per-model weights apply the same on both paths', async (method) => {
    if (!gpu) return;
    const { base, models } = inputs(19);
    const params = { ...DEFAULT_MERGE, method, weights: [1, 0.25, 2], density: 0.7, rescale_norm: 'density' } as MergeParams;
    const cpu = new CpuPopulation(layout, models, new CpuMerger(layout, params, base));
    const gpuPop = new GpuPopulation(gpu.device, layout, models, params, base);
    await cpu.merge(null);
    await gpuPop.merge(null);
    const c = await cpu.read('merged');
    expect(closeTo(await gpuPop.read('merged'), c)).toBeLessThanOrEqual(method === 'ties' ? 3 : 0);
    const equal = new CpuPopulation(layout, models, new CpuMerger(layout, { ...params, weights: undefined }, base));
    await equal.merge(null);
    expect(closeTo(await equal.read('merged'), c)).toBeGreaterThan(100);
    gpuPop.dispose();
  });

  it('RegMean (linear operator of fixed Grams) and Fisher match their CPU twins', async () => {
    if (!gpu) return;
    const { models } = inputs(21);
    const rng = new CounterRng(5, 2);
    const inDim = 37;
    // Well-conditioned SPD Gram per model: XᵀX/n + I.
    const grams = models.map(() => {
      const x = seededFloats(rng, 60 * inDim);
      const g = new Float64Array(inDim * inDim);
      for (let r = 0; r < 60; r++) for (let i = 0; i < inDim; i++) for (let j = 0; j < inDim; j++) g[i * inDim + j] += (x[r * inDim + i] * x[r * inDim + j]) / 60;
      for (let i = 0; i < inDim; i++) g[i * inDim + i] += 1;
      return new Map([['w', g]]);
    });
    const layers = new Map([['w', { weightName: 'w', inputName: 'x', layout: 'in-out' as const, inDim, outDim: 29, opType: 'MatMul', nodeIndex: 0 }]]);
    const regParams: MergeParams = { ...DEFAULT_MERGE, method: 'regmean', alpha: 0.7 };
    const { operators, ridge } = regmeanOperators(grams.map((g) => g.get('w')!), inDim, 0.7);
    expect(ridge).toBe(0);
    const cpuReg = new CpuPopulation(layout, models, new CpuMerger(layout, regParams, null, { layers, grams }));
    const gpuReg = new GpuPopulation(gpu.device, layout, models, regParams, null, { layers, operators: new Map([['w', operators]]) });
    await cpuReg.merge(null);
    await gpuReg.merge(null);
    expect(closeTo(await gpuReg.read('merged'), await cpuReg.read('merged'), 1e-4)).toBe(0);
    gpuReg.dispose();

    const fisher = models.map(() => new Map([['b', Float64Array.from(seededFloats(rng, 257), Math.abs)]]));
    const fisherParams: MergeParams = { ...DEFAULT_MERGE, method: 'fisher' };
    const cpuF = new CpuPopulation(layout, models, new CpuMerger(layout, fisherParams, null, { fishers: fisher }));
    const f32 = new Map([['b', fisher.map((f) => Float32Array.from(f.get('b')!))]]);
    const gpuF = new GpuPopulation(gpu.device, layout, models, fisherParams, null, f32);
    await cpuF.merge(null);
    await gpuF.merge(null);
    expect(closeTo(await gpuF.read('merged'), await cpuF.read('merged'))).toBe(0);
    gpuF.dispose();
  });

  it('accept swaps the candidate in; the old individual becomes scratch', async () => {
    if (!gpu) return;
    const { base, models } = inputs(9);
    const pop = new GpuPopulation(gpu.device, layout, models, DEFAULT_MERGE, base);
    pop.trial(interpolationVectors(0, 1), { f: 0.5, cr: 1, seed: 1, stream: 1, jRand: -1 });
    const candidate = await pop.read('candidate');
    pop.accept(0);
    expect(Array.from(await pop.read(0))).toEqual(Array.from(candidate));
    expect(Array.from(candidate)).not.toEqual(Array.from(models[0]));
    pop.dispose();
  });

  it('DE/rand/1 trials, pool merges and kinship moments match the CPU population', async () => {
    if (!gpu) return;
    const { base, models } = inputs(17, 4);
    for (const withBase of [true, false]) {
      const params: MergeParams = { ...DEFAULT_MERGE, method: withBase ? 'task_arithmetic' : 'slerp', lambda: 0.7 };
      const cpu = new CpuPopulation(layout, models, new CpuMerger(layout, params, withBase ? base : null), withBase ? base : null);
      const gpuPop = new GpuPopulation(gpu.device, layout, models, params, withBase ? base : null);
      const trial = { f: 0.6, cr: 0.4, seed: 3, stream: 9, jRand: 17 };
      cpu.trial({ target: 0, base: 1, plus: 2, minus: 3 }, trial);
      gpuPop.trial({ target: 0, base: 1, plus: 2, minus: 3 }, trial);
      expect(closeTo(await gpuPop.read('candidate'), await cpu.read('candidate'))).toBe(0);

      // A pool slot made from two individuals, as Top-k merging does; released slots are reused.
      const [c, g] = [cpu.allocate(), gpuPop.allocate()];
      expect([c, g]).toEqual([4, 4]);
      await cpu.mergeInto([1, 3], c);
      await gpuPop.mergeInto([1, 3], g);
      expect(closeTo(await gpuPop.read(g), await cpu.read(c))).toBe(0);
      cpu.release(c);
      gpuPop.release(g);
      expect([cpu.allocate(), gpuPop.allocate()]).toEqual([4, 4]);
      await expect(gpuPop.mergeInto([1, 4], 4)).rejects.toThrow(/sources/);

      const reference = withBase ? 'base' : 'initial-mean';
      const readBefore = gpuTransferCounters.bytesReadBack;
      const gm = await gpuPop.kinshipMoments([0, 2, 'candidate'], reference);
      expect(gpuTransferCounters.bytesReadBack - readBefore).toBe(32 * 3 * layout.slots.length);
      const cm = await cpu.kinshipMoments([0, 2, 'candidate'], reference);
      expect(gm).toHaveLength(3);
      gm.forEach((pair, p) =>
        pair.forEach((m, t) => {
          const want = cm[p]![t]!;
          for (const key of ['sumA', 'sumB', 'sumAB', 'sumAA', 'sumBB', 'sumDD'] as const) {
            const scale = key === 'sumA' || key === 'sumB' || key === 'sumAB' ? Math.abs(want.sumAA) + Math.abs(want.sumBB) + m.n * 1e-3 : Math.abs(want[key]);
            expect(Math.abs(m[key] - want[key])).toBeLessThanOrEqual(1e-5 * scale);
          }
        }),
      );
      gpuPop.dispose();
    }
  });

  it('a tensor above the device\'s buffer limit stops the run as out of memory, with the numbers', async () => {
    if (!gpu) return;
    const { allocatePopulation } = await import('./population');
    const { OutOfMemoryError } = await import('../protocol/errors');
    const size = Math.floor(gpu.device.limits.maxBufferSize / 4) + 1024;
    const big: ParameterLayout = { slots: [{ name: 'w', dims: [size], size, offset: 0, depth: 0, layer: 'w' }], totalSize: size };
    const build = () => new GpuPopulation(gpu!.device, big, [new Float32Array(0), new Float32Array(0)], DEFAULT_MERGE, null);
    expect(() => allocatePopulation('GPU', size, 2, build)).toThrow(OutOfMemoryError);
    expect(() => allocatePopulation('GPU', size, 2, build)).toThrow(/Out of memory on the GPU: the run needs about .* \(5 copies of .* evolved parameters in f32\), and allocating it failed \(buffers\.ts: .* exceed this device's maxBufferSize/);
  });
});
