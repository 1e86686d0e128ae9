/**
 * CPU mergers against memcpy of the bytes they must read (`npx vitest bench --run src/kernels/task-vector`).
 * Each reads N models and the base once (blocked loops); TIES adds three select passes per model.
 */
import { bench, describe } from 'vitest';
import { dareMerge } from './dare.cpu';
import { linearMerge } from './linear.cpu';
import { taskArithmeticMerge } from './task-arithmetic.cpu';
import { tiesMerge } from './ties.cpu';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';

const n = 2_000_000;
const rng = new CounterRng(4, 4);
const base = seededFloats(rng, n);
const models = [0, 1, 2, 3].map(() => seededFloats(rng, n));
const out = new Float32Array(n);

describe(`task-vector mergers (cpu), 4 models × ${n} floats`, () => {
  bench('memcpy of the 5 inputs', () => {
    for (const m of [base, ...models]) out.set(m);
  });
  bench('linearMerge', () => linearMerge(models, out));
  bench('taskArithmeticMerge', () => taskArithmeticMerge(models, base, out, { lambda: 0.5 }));
  bench('tiesMerge density 0.2', () => tiesMerge(models, base, out, { density: 0.2 }));
  bench('dareMerge linear p = 0.5', () => dareMerge(models, base, out, { density: 0.5, seed: 1 }));
  bench('dareMerge ties p = 0.5', () => dareMerge(models, base, out, { density: 0.5, seed: 1, consensus: 'ties' }));
});
