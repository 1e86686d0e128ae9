import { describe, expect, it } from 'vitest';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { firstMismatch, seededFloats } from '../testing';
import { linearMerge } from './linear.cpu';

const rng = new CounterRng(0x11ea2, 1);

describe('linearMerge', () => {
  it('hand case: weighted mean and weighted sum', () => {
    const models = [Float32Array.of(1, 2), Float32Array.of(3, 6)];
    const out = new Float32Array(2);
    // (1·1 + 3·3) / 4 = 2.5, (1·2 + 3·6) / 4 = 5
    linearMerge(models, out, { weights: [1, 3] });
    expect(out).toEqual(Float32Array.of(2.5, 5));
    linearMerge(models, out, { weights: [1, 3], normalize: false });
    expect(out).toEqual(Float32Array.of(10, 20));
    linearMerge(models, out);
    expect(out).toEqual(Float32Array.of(2, 4));
    // Σ w = 0 cannot be normalised: divide by 1, as mergekit does.
    linearMerge(models, out, { weights: [1, -1] });
    expect(out).toEqual(Float32Array.of(-2, -4));
  });

  it('random models across block boundaries match an f64 reference; out may alias a model', () => {
    const n = 5003;
    const models = [0, 1, 2].map(() => seededFloats(rng, n));
    const weights = [0.5 + rng.nextUnit(), 0.5 + rng.nextUnit(), 0.5 + rng.nextUnit()];
    const total = weights[0]! + weights[1]! + weights[2]!;
    const ref = new Float32Array(n);
    const scale = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < 3; i++) {
        s += weights[i]! * models[i]![j]!;
        scale[j]! += Math.abs(weights[i]! * models[i]![j]!) / total;
      }
      ref[j] = s / total;
    }
    const out = new Float32Array(n);
    linearMerge(models, out, { weights });
    expect(firstMismatch(out, ref, (j) => 1e-6 * scale[j]!)).toBe(-1);
    const first = models[0]!.slice();
    linearMerge([first, models[1]!, models[2]!], first, { weights });
    expect(first).toEqual(out);
  });

  it('rejects mismatched lengths, weight counts and non-finite weights', () => {
    const a = seededFloats(rng, 4);
    expect(() => linearMerge([a, seededFloats(rng, 5)], new Float32Array(4))).toThrow(KernelParamsError);
    expect(() => linearMerge([a], new Float32Array(4), { weights: [1, 2] })).toThrow(KernelParamsError);
    expect(() => linearMerge([a], new Float32Array(4), { weights: [Number.NaN] })).toThrow(KernelParamsError);
    expect(() => linearMerge([], new Float32Array(4))).toThrow(KernelParamsError);
  });
});
