import { describe, expect, it } from 'vitest';
import { encodeDataset } from '../dataset';
import type { DevRow } from '../dataset';
import { accuracy, argmaxRows, confusionMatrix, f1PerClass, macroF1, scoreByDomain } from './classification-metrics';
import { scoreLogits } from './sequence-classification';
import { mulberry32 } from '../../testing/seeded';

// Hand-worked 3-class example.
//   class 0: tp 2 (rows 0, 2), fp 1 (row 7), fn 1 (row 1)  → F1 = 4/6
//   class 1: tp 2 (rows 3, 9), fp 1 (row 1), fn 1 (row 4)  → F1 = 4/6
//   class 2: tp 3 (rows 5, 6, 8), fp 1 (row 4), fn 1 (row 7) → F1 = 6/8
//   macro-F1 = (2/3 + 2/3 + 3/4) / 3 = 25/36; accuracy = 7/10
const LABELS = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 2, 1]);
const PRED = Int32Array.from([0, 1, 0, 1, 2, 2, 2, 0, 2, 1]);
const DOMAINS = ['easy', 'easy', 'easy', 'hard', 'hard', 'spam', 'spam', 'spam', 'spam', ''];

describe('argmaxRows', () => {
  it('picks the largest logit per row, ties to the lowest index', () => {
    const logits = Float32Array.from([
      1, 3, 3, // tie between 1 and 2
      -2, -1, -5,
      7, 7, 7, // all tied
      0.5, -0.25, 0.75,
      NaN, 2, NaN, // NaN never wins
      NaN, NaN, NaN, // nothing wins: 0
      -Infinity, -Infinity, -3,
    ]);
    expect(Array.from(argmaxRows(logits, 7, 3))).toEqual([1, 1, 0, 2, 1, 0, 2]);
  });

  it('matches a reference on seeded random logits with injected ties', () => {
    const rand = mulberry32(11);
    const rows = 300;
    const classes = 5;
    const logits = new Float32Array(rows * classes);
    for (let i = 0; i < logits.length; i++) logits[i] = Math.round((rand() * 2 - 1) * 8) / 2; // coarse: many ties
    const pred = argmaxRows(logits, rows, classes);
    let ties = 0;
    for (let r = 0; r < rows; r++) {
      const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
      const max = Math.max(...row);
      if (row.filter((v) => v === max).length > 1) ties++;
      expect(pred[r]).toBe(row.indexOf(max));
    }
    expect(ties).toBeGreaterThan(10);
  });

  it('rejects a logits array of the wrong length', () => {
    expect(() => argmaxRows(new Float32Array(10), 3, 3)).toThrow(/10 logits for shape \[3, 3\]/);
  });
});

describe('accuracy, F1, confusion matrix (hand-computed)', () => {
  it('computes accuracy', () => {
    expect(accuracy(PRED, LABELS)).toBeCloseTo(0.7, 12);
    expect(accuracy([1, 0], [1, 0])).toBe(1);
    expect(accuracy([], [])).toBeNaN();
    expect(() => accuracy([1], [1, 0])).toThrow(/1 predictions for 2 labels/);
  });

  it('computes per-class and macro F1', () => {
    const f1 = f1PerClass(PRED, LABELS, 3);
    expect(f1[0]).toBeCloseTo(2 / 3, 12);
    expect(f1[1]).toBeCloseTo(2 / 3, 12);
    expect(f1[2]).toBeCloseTo(3 / 4, 12);
    expect(macroF1(PRED, LABELS, 3)).toBeCloseTo(25 / 36, 12);
  });

  it('leaves classes absent from both labels and predictions out of the mean', () => {
    // A fourth class nobody uses does not drag the mean down.
    expect(macroF1(PRED, LABELS, 4)).toBeCloseTo(25 / 36, 12);
    expect(f1PerClass(PRED, LABELS, 4)[3]).toBeNaN();
    // A class only predicted counts with F1 0 (sklearn, zero_division=0): (2/3 + 0) / 2.
    expect(macroF1([0, 1], [0, 0], 3)).toBeCloseTo(1 / 3, 12);
    // One class present, perfectly predicted: 1, not 1/2.
    expect(macroF1([1, 1, 1], [1, 1, 1], 2)).toBe(1);
    expect(macroF1([], [], 2)).toBeNaN();
  });

  it('agrees with the precision/recall definition on seeded random predictions', () => {
    const rand = mulberry32(5);
    for (let trial = 0; trial < 50; trial++) {
      const k = 2 + Math.floor(rand() * 4);
      const n = 1 + Math.floor(rand() * 60);
      const y = Array.from({ length: n }, () => Math.floor(rand() * k));
      const p = Array.from({ length: n }, () => (rand() < 0.6 ? y[0] : Math.floor(rand() * k)));
      let sum = 0;
      let used = 0;
      for (let c = 0; c < k; c++) {
        let tp = 0, fp = 0, fn = 0;
        for (let i = 0; i < n; i++) {
          if (p[i] === c && y[i] === c) tp++;
          else if (p[i] === c) fp++;
          else if (y[i] === c) fn++;
        }
        if (tp + fp + fn === 0) continue;
        const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
        const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
        sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
        used++;
      }
      expect(macroF1(p, y, k)).toBeCloseTo(sum / used, 12);
    }
  });

  it('builds confusion[true][predicted]', () => {
    expect(confusionMatrix(PRED, LABELS, 3)).toEqual([
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 3],
    ]);
    expect(() => confusionMatrix([3], [0], 3)).toThrow(/class 3 is outside 0\.\.2/);
  });
});

describe('scoreByDomain and scoreLogits', () => {
  // easy: y [0,0,0] p [0,1,0] → acc 2/3; F1 class0 4/5, class1 0 → 0.4
  // hard: y [1,1]   p [1,2]   → acc 1/2; F1 class1 2/3, class2 0 → 1/3
  // spam: y [2,2,2,2] p [2,2,0,2] → acc 3/4; F1 class2 6/7, class0 0 → 3/7
  const expected = [
    { domain: 'all', size: 10, accuracy: 0.7, macroF1: 25 / 36 },
    { domain: 'easy', size: 3, accuracy: 2 / 3, macroF1: 0.4 },
    { domain: 'hard', size: 2, accuracy: 0.5, macroF1: 1 / 3 },
    { domain: 'spam', size: 4, accuracy: 0.75, macroF1: 3 / 7 },
  ];

  function expectScores(actual: readonly { domain: string; size: number; metrics: { accuracy?: number; macroF1?: number } }[]) {
    expect(actual.map((s) => [s.domain, s.size])).toEqual(expected.map((s) => [s.domain, s.size]));
    actual.forEach((s, i) => {
      expect(s.metrics.accuracy).toBeCloseTo(expected[i].accuracy, 12);
      expect(s.metrics.macroF1).toBeCloseTo(expected[i].macroF1, 12);
    });
  }

  it("scores each domain, pooled 'all' first; rows without a domain count only in 'all'", () => {
    expectScores(scoreByDomain(PRED, LABELS, DOMAINS, 3));
    const shuffledOrder = [9, 3, 7, 0, 5, 1, 8, 2, 6, 4];
    expectScores(
      scoreByDomain(
        shuffledOrder.map((i) => PRED[i]),
        shuffledOrder.map((i) => LABELS[i]),
        shuffledOrder.map((i) => DOMAINS[i]),
        3,
      ),
    );
  });

  it('scores logits against an encoded dataset', () => {
    const rand = mulberry32(42);
    const rows: DevRow[] = Array.from(LABELS, (label, i) => {
      const row: DevRow = { inputIds: [2, 3 + i], label, line: i + 1 };
      if (DOMAINS[i] !== '') row.domain = DOMAINS[i];
      return row;
    });
    const ds = encodeDataset(rows, { fileName: 'dev.jsonl', sequenceLength: 4, padId: 0, labelCount: 3 });
    // Random logits whose argmax is PRED.
    const logits = new Float32Array(10 * 3);
    for (let r = 0; r < 10; r++) {
      for (let c = 0; c < 3; c++) logits[r * 3 + c] = rand() * 4 - 2;
      logits[r * 3 + PRED[r]] = 2.5 + rand();
    }
    const scores = scoreLogits(logits, ds);
    expect(scores.task).toBe('sequence-classification');
    expect(scores.size).toBe(10);
    expect(scores.metrics.accuracy).toBeCloseTo(0.7, 12);
    expect(scores.metrics.macroF1).toBeCloseTo(25 / 36, 12);
    expectScores(scores.byDomain);
    expect(() => scoreLogits(new Float32Array(20), ds)).toThrow(RangeError);
  });
});
