import { describe, expect, it } from 'vitest';
import { KernelParamsError } from '../errors';
import { CounterRng, randomUnit } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { STAGED_MAX_MODELS } from '../staged-merges/staged-merges.wasm';
import { dareMergeReference, dareNormScalesReference } from '../staged-merges/dare.reference';
import { dareMerge, dareMergeWith, dareNorms, dareNormScales, type DareParams } from './dare.cpu';
import { dareMasks } from './params';
import { taskArithmeticMerge } from './task-arithmetic.cpu';
import { tiesMerge } from './ties.cpu';

const rng = new CounterRng(0xda7e, 4);

function dare(models: Float32Array[], base: Float32Array, params: DareParams): Float32Array {
  const out = new Float32Array(base.length);
  dareMerge(models, base, out, params);
  return out;
}

describe('dareMerge', () => {
  const n = 3001;
  const base = seededFloats(rng, n);
  const models = [0, 1, 2].map(() => seededFloats(rng, n));
  const weights = [0.6, 1.1, 0.9];

  it('density 1 is task arithmetic exactly (dare_linear) and TIES at density 1 exactly (dare_ties)', () => {
    for (const normalize of [false, true]) {
      const ta = new Float32Array(n);
      taskArithmeticMerge(models, base, ta, { weights, lambda: 0.7, normalize });
      expect(dare(models, base, { density: 1, seed: 5, weights, lambda: 0.7, normalize })).toEqual(ta);
      const ties = new Float32Array(n);
      tiesMerge(models, base, ties, { weights, lambda: 0.7, normalize });
      expect(dare(models, base, { density: 1, seed: 5, weights, lambda: 0.7, normalize, consensus: 'ties' })).toEqual(ties);
    }
  });

  it('one model: each element is dropped (base) or rescaled by 1/p, on the RNG draw of (seed, model 0, offset + j)', () => {
    const p = 0.25;
    const params = { density: p, seed: 1234, offset: 777 };
    const out = dare([models[0]!], base, params);
    let kept = 0;
    for (let j = 0; j < n; j++) {
      const tau = Math.fround(models[0]![j]! - base[j]!);
      const keep = randomUnit(params.seed, 0, params.offset + j) < p;
      expect(out[j]).toBe(keep ? Math.fround(base[j]! + Math.fround(tau * 4)) : base[j]);
      if (keep) kept++;
    }
    // Binomial(3001, 0.25): sd ≈ 24.
    expect(Math.abs(kept - p * n)).toBeLessThan(120);
    // rescale: false keeps survivors as they are.
    const plain = dare([models[0]!], base, { ...params, rescale: false });
    for (let j = 0; j < n; j++) {
      const keep = randomUnit(params.seed, 0, params.offset + j) < p;
      expect(plain[j]).toBe(keep ? Math.fround(base[j]! + Math.fround(models[0]![j]! - base[j]!)) : base[j]);
    }
  });

  it('is reproducible from the seed, differs across seeds and models, and keys the mask on the global index', () => {
    const a = dare(models, base, { density: 0.5, seed: 42, weights });
    expect(dare(models, base, { density: 0.5, seed: 42, weights })).toEqual(a);
    expect(dare(models, base, { density: 0.5, seed: 43, weights })).not.toEqual(a);
    // A tensor split in two pieces (offset = index of the piece's first element) gives the same merge.
    const cut = 1234;
    const head = dare(models.map((m) => m.subarray(0, cut)), base.subarray(0, cut), { density: 0.5, seed: 42, weights });
    const tail = dare(models.map((m) => m.subarray(cut)), base.subarray(cut), { density: 0.5, seed: 42, weights, offset: cut });
    expect(Float32Array.of(...head, ...tail)).toEqual(a);
    // Models draw from different streams: identical models get different masks.
    const same = dare([models[0]!, models[0]!], base, { density: 0.5, seed: 42, normalize: true });
    const agreeing = same.filter((x, j) => x === base[j] || x === Math.fround(base[j]! + Math.fround(2 * Math.fround(models[0]![j]! - base[j]!)))).length;
    expect(agreeing).toBeLessThan(0.75 * n); // both-or-neither would be every element
  });

  it('in expectation over seeds equals task arithmetic (dare_linear, p = 0.5)', () => {
    const m = 64;
    const b = base.subarray(0, m);
    const ms = models.map((x) => x.subarray(0, m));
    const ta = new Float32Array(m);
    taskArithmeticMerge(ms, b, ta, { weights });
    const seeds = 400;
    const mean = new Float64Array(m);
    for (let s = 0; s < seeds; s++) {
      const out = dare(ms, b, { density: 0.5, seed: 1000 + s, weights });
      for (let j = 0; j < m; j++) mean[j]! += out[j]! / seeds;
    }
    let worst = 0;
    for (let j = 0; j < m; j++) {
      // Var of w·τ·Bernoulli(p)/p is (w τ)²(1 − p)/p = (w τ)² at p = 0.5; sum over models, mean over seeds.
      let variance = 0;
      ms.forEach((x, i) => (variance += (weights[i]! * (x[j]! - b[j]!)) ** 2));
      worst = Math.max(worst, Math.abs(mean[j]! - ta[j]!) / Math.sqrt(variance / seeds));
    }
    expect(worst).toBeLessThan(4.5); // 64 roughly normal z-scores: P(max > 4.5) ≈ 4e-4
    expect(worst).toBeGreaterThan(0.5); // the masks are random, not all-keep
  });

  it('rejects density 0 or above 1, counters past 2^32 and an unknown consensus', () => {
    expect(() => dare(models, base, { density: 0, seed: 1 })).toThrow(KernelParamsError);
    expect(() => dare(models, base, { density: 1.01, seed: 1 })).toThrow(KernelParamsError);
    expect(() => dare(models, base, { density: 0.5, seed: 1, offset: 2 ** 32 - 10 })).toThrow(KernelParamsError);
    expect(() => dare(models, base, { density: 0.5, seed: 1.5 })).toThrow(KernelParamsError);
    expect(() => dare(models, base, { density: 0.5, seed: 1, consensus: 'count' as 'ties' })).toThrow(KernelParamsError);
  });
});

describe('dareMerge fast path (WebAssembly SIMD hash and staged merge) against the TypeScript DARE it replaced', () => {
  // Sizes around the staged kernel's 4-lane loops, its 16384-float blocks and 262144-float output pieces.
  const SIZES = [1, 3, 7, 2049, 16387, 262144 + 16384 + 5];
  const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

  function expectSameBits(got: Float32Array, want: Float32Array, label: string): void {
    const [x, y] = [bits(got), bits(want)];
    expect(x.length, label).toBe(y.length);
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) expect(`${label}: float ${j}: ${got[j]}`).toBe(`${want[j]}`);
  }

  /** Task vectors of mixed scale around the base, some exactly zero, so the rescale, the sums and ±0 are all exercised. */
  function inputs(n: number, count: number): { base: Float32Array; models: Float32Array[] } {
    const base = seededFloats(rng, n, 0.01, 2);
    const models = Array.from({ length: count }, (_, i) => {
      const tau = seededFloats(rng, n, 1e-4, 10 ** (i % 3));
      return base.map((b, j) => (j % 97 === 5 ? b : b + tau[j]!));
    });
    return { base, models };
  }

  function expectAllPathsAgree(models: Float32Array[], base: Float32Array, params: DareParams, label: string): void {
    const n = base.length;
    const want = new Float32Array(n).fill(NaN);
    dareMergeReference(models, base, want, params);
    const fast = new Float32Array(n).fill(NaN);
    dareMerge(models, base, fast, params);
    expectSameBits(fast, want, `${label}, fast`);
    const plain = new Float32Array(n).fill(NaN);
    dareMergeWith(models, base, plain, params, false);
    expectSameBits(plain, want, `${label}, TypeScript`);
  }

  it.each(SIZES)('dare_linear of 1 to 9 models, %i floats: the same bits', (n) => {
    for (let count = 1; count <= STAGED_MAX_MODELS + 1; count++) {
      if (n > 100000 && count % 3 !== 0) continue; // the large size once per few counts keeps the test short
      const { base, models } = inputs(n, count);
      const params: DareParams = {
        density: Array.from({ length: count }, (_, i) => [0.5, 1, 0.013, 0.9, 1 - 2 ** -24][i % 5]!),
        seed: rng.nextU32(),
        offset: rng.nextInt(1000),
        weights: Array.from({ length: count }, () => 3 * rng.nextUnit() - 1),
        lambda: 2 * rng.nextUnit() - 0.5,
        normalize: rng.nextUnit() < 0.5,
      };
      expectAllPathsAgree(models, base, params, `${count} models`);
    }
  });

  it('counters above 2^31 and up to the last u32 (the int32 lanes wrap as the u32 counters do)', () => {
    const n = 16387;
    const { base, models } = inputs(n, 3);
    for (const offset of [2 ** 31 - 5000, 2 ** 32 - n]) expectAllPathsAgree(models, base, { density: 0.4, seed: 77, offset }, `offset ${offset}`);
  });

  it('dare_ties (sum and count votes) and the norm-keeping rescales take the staged masks: the same bits', () => {
    const n = 16387;
    const { base, models } = inputs(n, 3);
    for (const vote of ['sum', 'count'] as const) expectAllPathsAgree(models, base, { density: 0.3, seed: 9, consensus: 'ties', vote, normalize: true }, `ties ${vote}`);
    for (const rescaleNorm of ['l1', 'l2', 'linf'] as const) {
      expectAllPathsAgree(models, base, { density: 0.6, seed: 10, rescaleNorm }, `linear ${rescaleNorm}`);
      expectAllPathsAgree(models, base, { density: 0.6, seed: 10, rescaleNorm, consensus: 'ties' }, `ties ${rescaleNorm}`);
    }
    expectAllPathsAgree(models, base, { density: 0.5, seed: 3, rescale: false }, 'no rescale');
  });

  it('density 1 keeps every element, density 0 is refused on both paths, and out may be one of the models', () => {
    const n = 4099;
    const { base, models } = inputs(n, 3);
    expectAllPathsAgree(models, base, { density: 1, seed: 4 }, 'density 1');
    expect(() => dareMerge(models, base, new Float32Array(n), { density: 0, seed: 4 })).toThrow(KernelParamsError);
    expect(() => dareMergeWith(models, base, new Float32Array(n), { density: 0, seed: 4 }, false)).toThrow(KernelParamsError);
    const want = new Float32Array(n);
    dareMergeReference(models, base, want, { density: 0.5, seed: 6 });
    const aliased = models.map((m) => m.slice());
    dareMerge(aliased, base, aliased[1]!, { density: 0.5, seed: 6 });
    expectSameBits(aliased[1]!, want, 'out = model 1');
  });
});

describe('dareNorms: the staged l1 / l2 sums against the TypeScript loop (useWasm false)', () => {
  // Not multiples of 4, of MERGE_BLOCK (2048) nor of the staged 16384-float blocks; several blocks at the largest.
  const SIZES = [1, 3, 6, 2047, 16387, 2 * 16384 + 4099];

  /** Fresh task vectors of mixed scale, some exactly zero (τ = +0 and −0), for count models. */
  function inputs(n: number, count: number): { base: Float32Array; models: Float32Array[] } {
    const base = seededFloats(rng, n, 0.01, 2);
    const models = Array.from({ length: count }, (_, i) => {
      const tau = seededFloats(rng, n, 1e-6, 10 ** (i % 3));
      return base.map((b, j) => (j % 89 === 3 ? b : b + tau[j]!));
    });
    return { base, models };
  }

  /** Every model's sums, bit for bit (Object.is: NaN matches NaN, +0 only +0). */
  function expectSameNorms(models: Float32Array[], base: Float32Array, densities: number[], seed: number, offset: number, label: string): void {
    const masks = dareMasks(densities, seed, false);
    for (const norm of ['l1', 'l2'] as const) {
      const fast = dareNorms(models, base, masks, offset, norm);
      const here = dareNorms(models, base, masks, offset, norm, false);
      fast.forEach((pair, i) => pair.forEach((v, k) => expect(Object.is(v, here[i]![k]), `${label}, ${norm}, model ${i}, ${k ? 'after' : 'before'}: ${v} vs ${here[i]![k]}`).toBe(true)));
      const scales = dareNormScales(models, base, masks, offset, norm);
      expect(scales, `${label}, ${norm} scales`).toEqual(dareNormScales(models, base, masks, offset, norm, false));
      expect(scales, `${label}, ${norm} scales against the frozen twin`).toEqual(dareNormScalesReference(models, base, masks, offset, norm));
    }
  }

  it.each(SIZES)('%i floats, offset 0 and not: the same f64 sums', (n) => {
    const { base, models } = inputs(n, 3);
    const densities = [0.5, 0.013, 1];
    expectSameNorms(models, base, densities, rng.nextU32(), 0, `${n} floats`);
    expectSameNorms(models, base, densities, rng.nextU32(), 1 + rng.nextInt(100000), `${n} floats, offset`);
    // Counters across the i32 wrap and up to the last u32.
    expectSameNorms(models, base, densities, rng.nextU32(), 2 ** 31 - Math.ceil(n / 2), `${n} floats, offset 2^31 − n/2`);
    expectSameNorms(models, base, densities, rng.nextU32(), 2 ** 32 - n, `${n} floats, offset 2^32 − n`);
  });

  it('NaN and infinities propagate as in the TypeScript loop (and the scale with them)', () => {
    const n = 16387;
    const { base, models } = inputs(n, 3);
    models[0]![5] = NaN;
    models[1]![7000] = Infinity;
    models[2]![16385] = -Infinity;
    base[16386] = Infinity;
    expectSameNorms(models, base, [0.6, 0.6, 0.6], 21, 3, 'non-finite');
    const masks = dareMasks([0.6, 0.6, 0.6], 21, false);
    // Model 0: NaN in τ (before), and a kept −∞ from base[16386] = ∞ (after).
    expect(dareNorms(models, base, masks, 3, 'l1')[0]).toEqual([NaN, Infinity]);
    expect(dareNormScales(models, base, masks, 3, 'l1')[0]).toBeNaN();
  });

  it("dareMerge with rescaleNorm 'l1' (and 'l2'), linear and ties: the frozen twin's bits end to end", () => {
    for (const n of [4099, 16384 + 5]) {
      const { base, models } = inputs(n, 3);
      for (const rescaleNorm of ['l1', 'l2'] as const) {
        for (const consensus of ['none', 'ties'] as const) {
          const params: DareParams = { density: [0.4, 0.9, 0.2], seed: rng.nextU32(), offset: rng.nextInt(5000), weights: [0.7, 1.2, 0.5], rescaleNorm, consensus };
          const want = new Float32Array(n);
          dareMergeReference(models, base, want, params);
          const fast = new Float32Array(n).fill(NaN);
          dareMerge(models, base, fast, params);
          const plain = new Float32Array(n).fill(NaN);
          dareMergeWith(models, base, plain, params, false);
          const u32 = (v: Float32Array) => new Uint32Array(v.buffer);
          expect(u32(fast), `${n} ${rescaleNorm} ${consensus}, fast`).toEqual(u32(want));
          expect(u32(plain), `${n} ${rescaleNorm} ${consensus}, TypeScript`).toEqual(u32(want));
        }
      }
    }
  });
});
