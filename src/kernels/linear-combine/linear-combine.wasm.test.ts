import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { assembleWat, generatedModule } from '../de-step/de-step.assemble';
import { linearMerge } from '../task-vector/linear.cpu';
import { sumScale } from '../task-vector/params';
import { taskArithmeticMerge } from '../task-vector/task-arithmetic.cpu';
import { LINEAR_COMBINE_WASM_BASE64 } from './linear-combine.wasm.gen';
import { LinearCombineWasm, LINEAR_WASM_MAX_MODELS } from './linear-combine.wasm';
import { linearCombineWat } from './linear-combine.wat';

const rng = new CounterRng(0x11ea2, 9);
const SIZES = [1, 3, 5, 37, 1001, 65537];
const MAX = 65537;
const VECTORS = LINEAR_WASM_MAX_MODELS + 2;
const memory = new WebAssembly.Memory({ initial: Math.ceil((VECTORS * (MAX + 8) * 4) / 65536) });
const kernel = LinearCombineWasm.create(memory)!;

/** Vector k of the pool at a lane-misaligned float offset. */
function poolView(k: number, n: number): Float32Array {
  return new Float32Array(memory.buffer, 4 * (k * (MAX + 8) + rng.nextInt(4)), n);
}

const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

function expectSameBits(got: Float32Array, want: Float32Array, label: string): void {
  const [x, y] = [bits(got), bits(want)];
  expect(x.length, label).toBe(y.length);
  for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) expect(`${label}: float ${j}: ${got[j]} (0x${x[j]!.toString(16)})`).toBe(`${want[j]} (0x${y[j]!.toString(16)})`);
}

function randomWeights(count: number): number[] {
  return Array.from({ length: count }, () => (rng.nextUnit() < 0.2 ? 1 : 4 * rng.nextUnit() - 1));
}

describe('linear-combine WASM SIMD against its TypeScript twins', () => {
  it('the committed module is the assembled WAT', async () => {
    const bytes = await assembleWat(linearCombineWat(), 'linear-combine.wat.ts');
    const base64 = Buffer.from(bytes).toString('base64');
    expect(LINEAR_COMBINE_WASM_BASE64).toBe(base64);
    const committed = readFileSync(new URL('./linear-combine.wasm.gen.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generatedModule('LINEAR_COMBINE_WASM_BASE64', 'src/kernels/linear-combine/linear-combine.wat.ts', base64));
  });

  it.each(SIZES)('linear and task arithmetic of 1–8 models, %i floats: the twins\' bits', (n) => {
    for (let count = 1; count <= LINEAR_WASM_MAX_MODELS; count++) {
      const weights = randomWeights(count);
      const normalize = rng.nextUnit() < 0.5;
      const lambda = 2 * rng.nextUnit() - 0.5;
      const data = Array.from({ length: count }, (_, i) => seededFloats(rng, n, 1e-4, 10 ** (i % 4)));
      const baseData = seededFloats(rng, n, 0.01, 2);
      const views = data.map((d, i) => {
        const v = poolView(i, n);
        v.set(d);
        return v;
      });
      const base = poolView(LINEAR_WASM_MAX_MODELS, n);
      base.set(baseData);
      const out = poolView(LINEAR_WASM_MAX_MODELS + 1, n);
      const w32 = Float32Array.from(weights);

      const want = new Float32Array(n);
      linearMerge(data, want, { weights, normalize });
      out.fill(NaN);
      kernel.linear(out, views, w32, sumScale(weights, 1, normalize));
      expectSameBits(out, want, `linear, ${count} models`);

      taskArithmeticMerge(data, baseData, want, { weights, lambda, normalize });
      out.fill(NaN);
      kernel.taskArithmetic(out, views, base, w32, sumScale(weights, lambda, normalize));
      expectSameBits(out, want, `task arithmetic, ${count} models`);
    }
  });

  it('writes over one of its inputs exactly as into a separate out', () => {
    const n = 1001;
    const data = [0, 1, 2].map(() => seededFloats(rng, n));
    const views = data.map((d, i) => {
      const v = poolView(i, n);
      v.set(d);
      return v;
    });
    const want = new Float32Array(n);
    linearMerge(data, want, { weights: [0.2, 0.5, 0.3] });
    kernel.linear(views[1]!, views, Float32Array.from([0.2, 0.5, 0.3]), sumScale([0.2, 0.5, 0.3], 1, true));
    expectSameBits(views[1]!, want, 'out = model 1');
  });

  it('update: m + k·(c − x) with each step rounded to f32, as incremental-merge.ts', () => {
    for (const n of SIZES) {
      const [m, c, x] = [0, 1, 2].map(() => seededFloats(rng, n, 1e-3, 5));
      const k = Math.fround(2 * rng.nextUnit() - 1);
      const want = new Float32Array(n);
      for (let j = 0; j < n; j++) want[j] = m[j]! + Math.fround(k * Math.fround(c[j]! - x[j]!));
      const [vm, vc, vx, out] = [0, 1, 2, 3].map((i) => poolView(i, n));
      vm!.set(m!);
      vc!.set(c!);
      vx!.set(x!);
      kernel.update(out!, vm!, vc!, vx!, k);
      expectSameBits(out!, want, `update, ${n} floats`);
    }
  });

  it('refuses vectors off its memory, partial overlaps and more models than it takes, naming the problem', () => {
    const n = 8;
    const views = [0, 1].map((i) => poolView(i, n));
    const out = poolView(2, n);
    expect(() => kernel.linear(out, [views[0]!, new Float32Array(n)], Float32Array.from([1, 1]), 0.5)).toThrow(KernelParamsError);
    const overlapping = new Float32Array(memory.buffer, views[0]!.byteOffset + 4, n);
    expect(() => kernel.linear(overlapping, views, Float32Array.from([1, 1]), 0.5)).toThrow(/overlaps an input/);
    const many = Array.from({ length: LINEAR_WASM_MAX_MODELS + 1 }, () => views[0]!);
    expect(kernel.takes(many.length)).toBe(false);
    expect(() => kernel.linear(out, many, new Float32Array(many.length), 1)).toThrow(/the kernel takes 1 to 8/);
    expect(() => kernel.linear(out, views, Float32Array.from([1]), 1)).toThrow(/1 weights for 2 models/);
  });
});
