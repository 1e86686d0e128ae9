/**
 * Histogram select against a full sort at a large tensor's size
 * (`npx vitest bench --run src/kernels/task-vector`). The select must not sort: target
 * well under a tenth of Float32Array.prototype.sort.
 */
import { bench, describe } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { kthLargestMagnitude, topKMagnitudeCut } from './magnitude-select.cpu';

const n = 10_000_000;
const rng = new CounterRng(3, 3);
const values = seededFloats(rng, n);
const base = seededFloats(rng, n);
const k = Math.round(0.2 * n);

describe(`top-k magnitude, ${n} floats, k = 20%`, () => {
  bench('kthLargestMagnitude (3 histogram passes)', () => {
    kthLargestMagnitude(values, k);
  });
  bench('topKMagnitudeCut of values − base', () => {
    topKMagnitudeCut(values, k, base);
  });
  bench('Float32Array.prototype.sort of |x| (reference)', () => {
    Float32Array.from(values, Math.abs).sort();
  }, { iterations: 2, warmupIterations: 0 });
});
