/**
 * CPU throughput of the linear merges against memcpy of the output bytes
 * (`npx vitest bench --run src/kernels/linear-combine`): simple average and task arithmetic of
 * 3 models, the TypeScript twins on plain Float32Arrays and the WebAssembly SIMD kernels on the
 * same values in one WebAssembly.Memory (as the CPU population holds them), one thread.
 */
import { bench, describe } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { linearMerge } from '../task-vector/linear.cpu';
import { sumScale } from '../task-vector/params';
import { taskArithmeticMerge } from '../task-vector/task-arithmetic.cpu';
import { LinearCombineWasm } from './linear-combine.wasm';

const n = 4_000_000; // 16 MB per array, beyond the caches, like a real tensor
const rng = new CounterRng(2, 1);
const models = [0, 1, 2].map(() => seededFloats(rng, n));
const base = seededFloats(rng, n);
const out = new Float32Array(n);
const memory = new WebAssembly.Memory({ initial: Math.ceil((5 * 4 * n) / 65536) });
const simd = LinearCombineWasm.create(memory)!;
const views = [0, 1, 2, 3, 4].map((k) => new Float32Array(memory.buffer, 4 * k * n, n));
models.forEach((m, i) => views[i]!.set(m));
views[3]!.set(base);
const ones = Float32Array.from([1, 1, 1]);

describe(`linear merges of 3 models, ${n} floats, one thread`, () => {
  bench('memcpy (out.set(model))', () => out.set(models[0]!));
  bench('simple average, TypeScript twin', () => linearMerge(models, out));
  bench('simple average, WASM SIMD in place', () => simd.linear(views[4]!, views.slice(0, 3), ones, sumScale([1, 1, 1], 1, true)));
  bench('task arithmetic, TypeScript twin', () => taskArithmeticMerge(models, base, out, { lambda: 0.5 }));
  bench('task arithmetic, WASM SIMD in place', () => simd.taskArithmetic(views[4]!, views.slice(0, 3), views[3]!, ones, sumScale([1, 1, 1], 0.5, false)));
});
