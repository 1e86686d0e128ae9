import { describe, expect, it } from 'vitest';
import { expectSameBits, STAGED_TEST_SIZES } from '../staged-merges/bits.testing';
import { slerpReference } from '../staged-merges/spherical-stock.reference';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { slerp, slerpWith, type SlerpParams } from './slerp.cpu';

const rng = new CounterRng(0x51e2, 3);

function expectAllPathsAgree(a: Float32Array, b: Float32Array, params: SlerpParams, label: string): void {
  const n = a.length;
  const want = new Float32Array(n).fill(NaN);
  const coefficients = slerpReference(a, b, params, want);
  const fast = slerp(a, b, params, new Float32Array(n).fill(NaN));
  expect(fast.coefficients, label).toEqual(coefficients);
  expectSameBits(fast.out, want, `${label}, fast`);
  const plain = slerpWith(a, b, params, new Float32Array(n).fill(NaN), false);
  expect(plain.coefficients, label).toEqual(coefficients);
  expectSameBits(plain.out, want, `${label}, TypeScript`);
}

describe('slerp fast path (staged WebAssembly sums and fused passes) against the TypeScript SLERP it replaced', () => {
  it.each(STAGED_TEST_SIZES)('random pairs, %i floats: the same coefficients and bits', (n) => {
    for (const t of [0, 0.3, 0.5, 1, rng.nextUnit()]) {
      const a = seededFloats(rng, n, 1e-3, 3);
      const b = seededFloats(rng, n, 1e-2, 1);
      expectAllPathsAgree(a, b, { t }, `t = ${t}`);
    }
  });

  it('parallel, antiparallel, nearly parallel and zero tensors (the lerp fallbacks)', () => {
    const n = 16387;
    const a = seededFloats(rng, n);
    const cases: [string, Float32Array][] = [
      ['parallel', a.map((v) => 2 * v)],
      ['antiparallel', a.map((v) => -0.5 * v)],
      ['nearly parallel', a.map((v, j) => v + (j % 7 === 0 ? 1e-3 : 0))],
      ['zero', new Float32Array(n)],
    ];
    for (const [label, b] of cases) {
      expectAllPathsAgree(a, b, { t: 0.4 }, label);
      expectAllPathsAgree(b, a, { t: 0.4 }, `${label}, swapped`);
    }
  });
});
