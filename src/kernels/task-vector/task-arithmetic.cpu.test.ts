import { describe, expect, it } from 'vitest';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { firstMismatch, seededFloats } from '../testing';
import { taskArithmeticMerge } from './task-arithmetic.cpu';

const rng = new CounterRng(0x7a5c, 2);

describe('taskArithmeticMerge', () => {
  it('hand case: base + λ·Σ w τ, and the normalised variant', () => {
    const base = Float32Array.of(1, 2, 3);
    // τ1 = [1, 0, 2], τ2 = [-1, 1, 0]; w = [1, 0.5]: Σ w τ = [0.5, 0.5, 2]; λ = 0.5 → base + [0.25, 0.25, 1]
    const models = [Float32Array.of(2, 2, 5), Float32Array.of(0, 3, 3)];
    const out = new Float32Array(3);
    taskArithmeticMerge(models, base, out, { weights: [1, 0.5], lambda: 0.5 });
    expect(out).toEqual(Float32Array.of(1.25, 2.25, 4));
    // normalize: Σ w τ / 1.5 = [1/3, 1/3, 4/3]; λ = 0.5 → base + [1/6, 1/6, 2/3]
    taskArithmeticMerge(models, base, out, { weights: [1, 0.5], lambda: 0.5, normalize: true });
    for (const [j, v] of [7 / 6, 13 / 6, 11 / 3].entries()) expect(out[j]).toBeCloseTo(v, 6);
    // Defaults (w = 1, λ = 1, no normalisation): base + τ1 + τ2 = [1, 3, 5]
    taskArithmeticMerge(models, base, out);
    expect(out).toEqual(Float32Array.of(1, 3, 5));
  });

  it('random tensors match an f64 reference; λ = 0 returns the base exactly', () => {
    const n = 4099;
    const base = seededFloats(rng, n);
    const models = [0, 1, 2, 3].map(() => seededFloats(rng, n));
    const weights = models.map(() => rng.nextUnit() * 2 - 0.5);
    const lambda = 0.3 + 0.7 * rng.nextUnit();
    const out = new Float32Array(n);
    taskArithmeticMerge(models, base, out, { weights, lambda });
    const ref = new Float32Array(n);
    const scale = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let i = 0; i < models.length; i++) {
        const t = models[i]![j]! - base[j]!;
        s += weights[i]! * t;
        mag += Math.abs(weights[i]! * t) + Math.abs(weights[i]! * base[j]!);
      }
      ref[j] = base[j]! + lambda * s;
      scale[j] = Math.abs(base[j]!) + lambda * mag;
    }
    expect(firstMismatch(out, ref, (j) => 1e-6 * scale[j]!)).toBe(-1);
    taskArithmeticMerge(models, base, out, { weights, lambda: 0 });
    expect(out).toEqual(base);
  });

  it('rejects a base of another length and a non-finite λ', () => {
    const m = seededFloats(rng, 4);
    expect(() => taskArithmeticMerge([m], seededFloats(rng, 3), new Float32Array(4))).toThrow(KernelParamsError);
    expect(() => taskArithmeticMerge([m], seededFloats(rng, 4), new Float32Array(4), { lambda: Infinity })).toThrow(KernelParamsError);
  });
});
