import { describe, expect, it } from 'vitest';
import { STAGED_TEST_SIZES } from '../staged-merges/bits.testing';
import { dotNormsReference } from '../staged-merges/spherical-stock.reference';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { dotNormsCpu, dotNormsWith } from './dot-norms.cpu';

const rng = new CounterRng(0xd07, 8);

describe('dotNormsCpu fast path (staged WebAssembly f64 chains) against the TypeScript loop', () => {
  it.each(STAGED_TEST_SIZES)('with and without a base, %i floats: the same f64 sums', (n) => {
    const x = seededFloats(rng, n, 1e-4, 5);
    const y = seededFloats(rng, n, 1e-3, 0.5);
    const base = seededFloats(rng, n);
    for (const c of [null, base]) {
      const want = dotNormsReference(x, y, c);
      expect(dotNormsCpu(x, y, c)).toEqual(want);
      expect(dotNormsWith(x, y, c, false)).toEqual(want);
    }
    // Zero task vectors: x = base gives exact zeros, not −0 or NaN.
    expect(dotNormsCpu(base, y, base)).toEqual(dotNormsReference(base, y, base));
  });
});
