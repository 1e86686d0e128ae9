/**
 * CPU twin throughput against memcpy of the same output bytes (`npx vitest bench --run src/kernels`).
 * Target: the DE step within 3× of out.set(parent) at model-tensor sizes.
 */
import { bench, describe } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { deStepCpu } from './de-step.cpu';

const n = 4_000_000; // 16 MB per array, beyond the caches, like a real tensor
const rng = new CounterRng(1, 1);
const parent = seededFloats(rng, n);
const donor = seededFloats(rng, n);
const out = new Float32Array(n);
const params = { f: 0.5, cr: 0.5, seed: 7, stream: 3, offset: 1000, jRand: 12345 };

describe(`de-step cpu, ${n} floats`, () => {
  bench('memcpy (out.set(parent))', () => out.set(parent));
  bench('memcpy ×2 (parent and donor bytes)', () => {
    out.set(parent);
    out.set(donor);
  });
  bench('deStepCpu CR = 0.5', () => deStepCpu(parent, donor, out, params));
  bench('deStepCpu CR = 1', () => deStepCpu(parent, donor, out, { ...params, cr: 1 }));
});
