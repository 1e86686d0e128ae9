import { describe, expect, it } from 'vitest';
import { expectSameBits, STAGED_TEST_SIZES } from '../staged-merges/bits.testing';
import { STAGED_MAX_MODELS } from '../staged-merges/staged-merges.wasm';
import { modelStockReference } from '../staged-merges/spherical-stock.reference';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { modelStock, modelStockWith } from './model-stock.cpu';

const rng = new CounterRng(0x570c, 5);

function expectAllPathsAgree(base: Float32Array, models: Float32Array[], label: string): void {
  const n = base.length;
  const want = new Float32Array(n).fill(NaN);
  const coefficients = modelStockReference(base, models, want);
  const fast = modelStock(base, models, {}, new Float32Array(n).fill(NaN));
  expect(fast.coefficients, label).toEqual(coefficients);
  expectSameBits(fast.out, want, `${label}, fast`);
  const plain = modelStockWith(base, models, {}, new Float32Array(n).fill(NaN), false);
  expect(plain.coefficients, label).toEqual(coefficients);
  expectSameBits(plain.out, want, `${label}, TypeScript`);
}

/** Fine-tuned models around the base; a shared direction makes the cosines, and t, non-trivial. */
function models(base: Float32Array, count: number): Float32Array[] {
  const shared = seededFloats(rng, base.length, 1e-3, 1e-2);
  return Array.from({ length: count }, () => {
    const own = seededFloats(rng, base.length, 1e-3, 1e-2);
    return base.map((b, j) => b + shared[j]! + own[j]!);
  });
}

describe('modelStock fast path (one staged pass for all pairs, fused passes) against the TypeScript model stock it replaced', () => {
  it.each(STAGED_TEST_SIZES)('2 to 9 models (9 takes the TypeScript loops), %i floats: the same coefficients and bits', (n) => {
    for (let count = 2; count <= STAGED_MAX_MODELS + 1; count++) {
      if (n > 100000 && count % 3 !== 0) continue;
      const base = seededFloats(rng, n);
      expectAllPathsAgree(base, models(base, count), `${count} models`);
    }
  });

  it('a zero task vector, identical models and opposite task vectors (degenerate t)', () => {
    const n = 16387;
    const base = seededFloats(rng, n);
    const [m0, m1] = models(base, 2);
    expectAllPathsAgree(base, [m0!, base.slice(), m1!], 'zero task vector');
    expectAllPathsAgree(base, [m0!, m0!.slice(), m0!.slice()], 'identical');
    expectAllPathsAgree(base, [m0!, base.map((b, j) => b - (m0![j]! - b))], 'opposite');
  });
});
