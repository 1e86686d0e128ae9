import { describe, expect, it } from 'vitest';
import { encodeDataset } from './dataset';
import type { DevRow } from './dataset';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { splitDevHeldout } from './split';
import { sequenceClassification } from './tasks/sequence-classification';

function randomLabels(seed: number, n: number, weights: number[]): Int32Array {
  const rng = new CounterRng(seed, 1);
  const total = weights.reduce((a, b) => a + b, 0);
  return Int32Array.from({ length: n }, () => {
    let u = (rng.nextU32() / 4294967296) * total;
    let c = 0;
    while (u >= weights[c]) u -= weights[c++];
    return c;
  });
}

function expectPartition(size: number, s: { dev: number[]; heldout: number[] }) {
  expect(s.dev.length + s.heldout.length).toBe(size);
  const all = [...s.dev, ...s.heldout].sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: size }, (_, i) => i));
  expect(s.dev).toEqual([...s.dev].sort((a, b) => a - b));
  expect(s.heldout).toEqual([...s.heldout].sort((a, b) => a - b));
}

describe('splitDevHeldout', () => {
  it('partitions the rows, holding out round(fraction × size), deterministically', () => {
    for (const [size, f] of [[1000, 0.2], [37, 0.3], [5, 0.5], [1, 0.5], [0, 0.2]] as const) {
      const s = splitDevHeldout(size, f, 17);
      expectPartition(size, s);
      expect(s.heldout.length).toBe(Math.round(f * size));
      expect(splitDevHeldout(size, f, 17)).toEqual(s);
    }
  });

  it('depends on the seed', () => {
    const a = splitDevHeldout(500, 0.25, 1);
    const b = splitDevHeldout(500, 0.25, 2);
    expect(a.heldout).not.toEqual(b.heldout);
    // and is not just the first rows
    expect(a.heldout).not.toEqual(Array.from({ length: 125 }, (_, i) => i));
  });

  it('keeps class balance: every class split in floor or ceil of its share', () => {
    const labels = randomLabels(31, 853, [0.7, 0.2, 0.1]);
    for (const f of [0.1, 0.2, 0.33, 0.5]) {
      const s = splitDevHeldout(labels.length, f, 5, labels);
      expectPartition(labels.length, s);
      expect(s.heldout.length).toBe(Math.round(f * labels.length));
      for (let c = 0; c < 3; c++) {
        const n = labels.filter((y) => y === c).length;
        const held = s.heldout.filter((i) => labels[i] === c).length;
        expect(held).toBeGreaterThanOrEqual(Math.floor(f * n));
        expect(held).toBeLessThanOrEqual(Math.ceil(f * n));
      }
    }
  });

  it('stratifies by arbitrary string keys (domain × label)', () => {
    const rng = new CounterRng(77, 1);
    const domains = ['easy-ham-1', 'hard-ham-1', 'spam-2'];
    const rows: DevRow[] = Array.from({ length: 400 }, (_, i) => {
      const d = domains[rng.nextInt(3)];
      return { inputIds: [2, 3 + i], label: d.startsWith('spam') ? 1 : rng.nextInt(10) < 2 ? 1 : 0, domain: d, line: i + 1 };
    });
    const ds = encodeDataset(rows, { fileName: 'dev.jsonl', sequenceLength: 4, padId: 0, labelCount: 2 });
    const strata = sequenceClassification.strata(ds) as string[];
    expect(strata).toHaveLength(400);
    const s = splitDevHeldout(ds.size, 0.25, 3, strata);
    expectPartition(400, s);
    const keys = new Set(strata);
    expect(keys.size).toBe(5); // easy×{0,1}, hard×{0,1}, spam×1
    for (const key of keys) {
      const n = strata.filter((k) => k === key).length;
      const held = s.heldout.filter((i) => strata[i] === key).length;
      expect(Math.abs(held - 0.25 * n)).toBeLessThan(1);
    }
    expect(sequenceClassification.strata(ds, false)).toBe(ds.labels);
  });

  it('handles fractions 0 and 1 and rejects bad arguments', () => {
    const labels = randomLabels(4, 50, [1, 1]);
    expect(splitDevHeldout(50, 0, 1, labels).heldout).toEqual([]);
    expect(splitDevHeldout(50, 1, 1, labels).dev).toEqual([]);
    expect(() => splitDevHeldout(50, 1.5, 1)).toThrow(RangeError);
    expect(() => splitDevHeldout(50, NaN, 1)).toThrow(RangeError);
    expect(() => splitDevHeldout(-1, 0.2, 1)).toThrow(RangeError);
    expect(() => splitDevHeldout(50, 0.2, 1, labels.subarray(0, 49))).toThrow(/49 strata for 50 rows/);
  });
});
