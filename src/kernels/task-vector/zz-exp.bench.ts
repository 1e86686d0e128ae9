import { bench, describe } from 'vitest';
import { dareContribution } from '../../engine/methods/dare';
import { deltaContribution } from '../../engine/methods/task-arithmetic';
import { dareMasks } from './params';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';

const n = 2_000_000;
const rng = new CounterRng(4, 4);
const base = seededFloats(rng, n);
const m = seededFloats(rng, n);
const B = 2048;
const dst = new Float32Array(B);
const w32 = Float32Array.of(0.7);
const p05 = dareContribution([m], base, w32, dareMasks([0.5], 1, true), 0);
const p1 = dareContribution([m], base, w32, dareMasks([1], 1, true), 0);
const delta = deltaContribution([m], base, w32);
describe('dare contribution', () => {
  bench('dare p=0.5', () => { for (let s = 0; s < n; s += B) p05(0, s, Math.min(B, n - s), dst); });
  bench('dare p=1', () => { for (let s = 0; s < n; s += B) p1(0, s, Math.min(B, n - s), dst); });
  bench('delta', () => { for (let s = 0; s < n; s += B) delta(0, s, Math.min(B, n - s), dst); });
});
