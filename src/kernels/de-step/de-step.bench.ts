/**
 * CPU throughput against memcpy of the same output bytes (`npx vitest bench --run src/kernels`).
 * Target: the DE step within 3× of out.set(parent) at model-tensor sizes. The TypeScript twin
 * runs on plain Float32Arrays; the WebAssembly SIMD step on the same values held in one
 * WebAssembly.Memory (as the CPU population holds them), in place, on this one thread.
 */
import { bench, describe } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { deStepCpu, interpolationVectors } from './de-step.cpu';
import { DeStepWasm } from './de-step.wasm';

const n = 4_000_000; // 16 MB per array, beyond the caches, like a real tensor
const rng = new CounterRng(1, 1);
const parent = seededFloats(rng, n);
const donor = seededFloats(rng, n);
const out = new Float32Array(n);
const params = { f: 0.5, cr: 0.5, seed: 7, stream: 3, offset: 1000, jRand: 12345 };
const memory = new WebAssembly.Memory({ initial: Math.ceil((3 * 4 * n) / 65536) });
const simd = DeStepWasm.create(memory)!;
const [x, d, o] = [0, 1, 2].map((k) => new Float32Array(memory.buffer, 4 * k * n, n)) as [Float32Array, Float32Array, Float32Array];
x.set(parent);
d.set(donor);

describe(`de-step cpu, ${n} floats, one thread`, () => {
  bench('memcpy (out.set(parent))', () => out.set(parent));
  bench('memcpy ×2 (parent and donor bytes)', () => {
    out.set(parent);
    out.set(donor);
  });
  bench('memcpy in the WebAssembly.Memory (o.set(x))', () => o.set(x));
  bench('deStepCpu (TypeScript twin) CR = 0.5', () => deStepCpu(parent, donor, out, params));
  bench('deStepCpu (TypeScript twin) CR = 1', () => deStepCpu(parent, donor, out, { ...params, cr: 1 }));
  bench('DeStepWasm (SIMD, in place) CR = 0.5', () => simd.trial(interpolationVectors(x, d), o, params));
  bench('DeStepWasm (SIMD, in place) CR = 1', () => simd.trial(interpolationVectors(x, d), o, { ...params, cr: 1 }));
});
