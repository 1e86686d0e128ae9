import { afterAll, describe, expect, it } from 'vitest';
import { createWeightBuffer, readFloats, uploadFloats } from '../../gpu/buffers';
import { type EncodeOptions } from '../../gpu/elementwise';
import { regmeanMerge } from './regmean.cpu';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { firstMismatch, openTestGpu, seededFloats, testBackends, type BackendName } from '../testing';
import { encodeLinearOperator, linearOperatorCpu, regmeanOperators, type LinearOperatorLayout } from './index';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

const rng = new CounterRng(0x11ea0, 4);

async function run(
  backend: BackendName,
  as: Float32Array[],
  ws: Float32Array[],
  layout: LinearOperatorLayout,
  inDim: number,
  outDim: number,
  opts: EncodeOptions = {},
): Promise<Float32Array> {
  const size = inDim * outDim;
  if (backend === 'cpu') {
    const out = new Float32Array(size);
    linearOperatorCpu(as, ws, layout, inDim, outDim, out);
    return out;
  }
  const device = gpu!.device;
  const upload = (data: Float32Array): GPUBuffer => {
    const b = createWeightBuffer(device, data.length);
    uploadFloats(device, b, data);
    return b;
  };
  const aBufs = as.map(upload);
  const wBufs = ws.map(upload);
  // Stale NaN in out must not leak: the first pass overwrites.
  const out = upload(new Float32Array(size).fill(Number.NaN));
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encodeLinearOperator(device, encoder, aBufs, wBufs, layout, inDim, outDim, out, opts);
  device.queue.submit([encoder.finish()]);
  const result = await readFloats(device, out, size);
  const error = await device.popErrorScope();
  for (const b of [...aBufs, ...wBufs, out]) b.destroy();
  if (error) throw new Error(`linear-operator.test.ts: GPU validation error: ${error.message}`);
  return result;
}

/** Independent f64 reference via the [in, out] form: transpose in and out for 'out-in'. */
function reference(as: Float32Array[], ws: Float32Array[], layout: LinearOperatorLayout, inDim: number, outDim: number, abs: boolean): Float64Array {
  const f = abs ? Math.abs : (x: number) => x;
  const result = new Float64Array(inDim * outDim);
  for (let i = 0; i < as.length; i++) {
    for (let j = 0; j < inDim; j++) {
      for (let o = 0; o < outDim; o++) {
        let s = 0;
        for (let k = 0; k < inDim; k++) {
          const w = layout === 'in-out' ? ws[i]![k * outDim + o]! : ws[i]![o * inDim + k]!;
          s += f(as[i]![j * inDim + k]!) * f(w);
        }
        result[layout === 'in-out' ? j * outDim + o : o * inDim + j] += s;
      }
    }
  }
  return result;
}

// f32 dot products of inDim terms, then one f32 add per model: (inDim + N + 1)·2⁻²⁴ relative to Σ |A|·|W|.
const tolFor = (inDim: number, models: number, scale: Float64Array) => (e: number) => (inDim + models + 1) * 6e-8 * scale[e]! + 1e-30;

const shapes: [number, number][] = [
  [37, 29],
  [48, 96],
];

describe.each(testBackends(gpu))('linear-operator on $name', ({ name, available }) => {
  for (const layout of ['in-out', 'out-in'] as const) {
    for (const [inDim, outDim] of shapes) {
      it.skipIf(!available).each([1, 3])(`${layout}, in ${inDim}, out ${outDim}, %i model(s) match the f64 reference`, async (models) => {
        const as = Array.from({ length: models }, () => seededFloats(rng, inDim * inDim));
        const ws = Array.from({ length: models }, () => seededFloats(rng, inDim * outDim));
        const out = await run(name, as, ws, layout, inDim, outDim);
        const scale = reference(as, ws, layout, inDim, outDim, true);
        const tol = tolFor(inDim, models, scale);
        expect(firstMismatch(out, Float32Array.from(reference(as, ws, layout, inDim, outDim, false)), tol)).toBe(-1);
        if (name !== 'cpu') expect(firstMismatch(out, await run('cpu', as, ws, layout, inDim, outDim), tol)).toBe(-1);
      });
    }
  }

  it.skipIf(!available).each(['in-out', 'out-in'] as const)('%s: with A_i = S⁻¹G̃_i it reproduces regmeanMerge', async (layout) => {
    const inDim = 37;
    const outDim = 29;
    const models = 3;
    const alpha = 0.7;
    // Well-conditioned SPD Grams: XᵀX/rows over 3·in random rows, plus 0.5·I.
    const grams = Array.from({ length: models }, () => {
      const rows = 3 * inDim;
      const X = seededFloats(rng, rows * inDim, 0.01, 1);
      const G = new Float64Array(inDim * inDim);
      for (let r = 0; r < rows; r++) {
        for (let a = 0; a < inDim; a++) {
          for (let b = 0; b < inDim; b++) G[a * inDim + b] += (X[r * inDim + a]! * X[r * inDim + b]!) / rows;
        }
      }
      for (let a = 0; a < inDim; a++) G[a * inDim + a] += 0.5;
      return G;
    });
    const ws = Array.from({ length: models }, () => seededFloats(rng, inDim * outDim));
    const { operators, ridge } = regmeanOperators(grams, inDim, alpha);
    expect(ridge).toBe(0);
    const out = await run(name, operators, ws, layout, inDim, outDim);
    const { merged, ridge: mergeRidge } = regmeanMerge(ws, grams, layout, inDim, outDim, alpha);
    expect(mergeRidge).toBe(0);
    const maxAbs = merged.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(firstMismatch(out, merged, (e) => 1e-4 * (Math.abs(merged[e]!) + maxAbs))).toBe(-1);
    // And it is not merely the plain average.
    const mean = new Float32Array(merged.length);
    for (const w of ws) for (let e = 0; e < mean.length; e++) mean[e] += w[e]! / models;
    expect(firstMismatch(out, mean, () => 1e-2 * maxAbs)).not.toBe(-1);
  });
});

describe.skipIf(!gpu)('linear-operator (webgpu) dispatch', () => {
  it('chunked out and a folded 2-D grid give the CPU result', async () => {
    const inDim = 48;
    const outDim = 96;
    const as = [0, 1].map(() => seededFloats(rng, inDim * inDim));
    const ws = [0, 1].map(() => seededFloats(rng, inDim * outDim));
    for (const layout of ['in-out', 'out-in'] as const) {
      const cpu = await run('cpu', as, ws, layout, inDim, outDim);
      const tol = tolFor(inDim, 2, reference(as, ws, layout, inDim, outDim, true));
      const out = await run('webgpu', as, ws, layout, inDim, outDim, { maxBindingBytes: 4096, maxWorkgroupsPerDimension: 3 });
      expect(firstMismatch(out, cpu, tol)).toBe(-1);
    }
  });

  it('rejects count mismatches, aliasing and short buffers', () => {
    const device = gpu!.device;
    const a = createWeightBuffer(device, 16);
    const w = createWeightBuffer(device, 12);
    const out = createWeightBuffer(device, 12);
    const encoder = device.createCommandEncoder();
    expect(() => encodeLinearOperator(device, encoder, [a, a], [w], 'in-out', 4, 3, out)).toThrow(KernelParamsError);
    expect(() => encodeLinearOperator(device, encoder, [a], [w], 'in-out', 4, 3, w)).toThrow(KernelParamsError);
    expect(() => encodeLinearOperator(device, encoder, [a], [w], 'in-out', 5, 3, out)).toThrow(KernelParamsError);
    for (const b of [a, w, out]) b.destroy();
  });
});

describe('linear-operator parameter checks (cpu)', () => {
  it('rejects bad layouts, sizes and counts', () => {
    const a = seededFloats(rng, 4);
    const w = seededFloats(rng, 6);
    const out = new Float32Array(6);
    expect(() => linearOperatorCpu([a], [w], 'rows' as LinearOperatorLayout, 2, 3, out)).toThrow(KernelParamsError);
    expect(() => linearOperatorCpu([a], [w], 'in-out', 3, 2, out)).toThrow(KernelParamsError);
    expect(() => linearOperatorCpu([a], [], 'in-out', 2, 3, out)).toThrow(KernelParamsError);
    expect(() => regmeanOperators([], 2, 0.5)).toThrow(KernelParamsError);
    expect(() => regmeanOperators([new Float64Array(4)], 2, 1.5)).toThrow(KernelParamsError);
  });
});
