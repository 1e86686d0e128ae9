// The metrics of the language-model tasks against their reference definitions, on seeded cases
// computed once by tools/fixtures/make_task_fixtures.py (src/eval/fixtures/lm/metric-cases.json):
// seqeval's strict IOB2 entity scores, lm-eval's acc / acc_norm, Pearson, Spearman and MSE.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { choiceMetrics } from './multiple-choice';
import { averageRanks, regressionMetrics } from './regression-metrics';
import { entityScores, iob2Entities, isIob2TagSet } from './seqeval';

interface Cases {
  seqeval: { truth: string[][]; pred: string[][]; entities: [string, number, number][][]; precision: number; recall: number; f1: number; support: number }[];
  multipleChoice: { rows: { choices: string[]; loglik: number[]; label: number }[]; acc: number; acc_norm: number }[];
  regression: { pred: number[]; target: number[]; pearson: number; spearman: number; mse: number }[];
}
const CASES = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/lm/metric-cases.json'), 'utf8')) as Cases;

describe('seqeval strict IOB2', () => {
  it('finds the entities and scores the cases as seqeval does', () => {
    for (const c of CASES.seqeval) {
      c.truth.forEach((seq, s) => expect(iob2Entities(seq).map((e) => [e.type, e.start, e.end])).toEqual(c.entities[s]));
      const got = entityScores(c.truth, c.pred);
      expect(got.precision).toBeCloseTo(c.precision, 12);
      expect(got.recall).toBeCloseTo(c.recall, 12);
      expect(got.f1).toBeCloseTo(c.f1, 12);
      expect(got.support).toBe(c.support);
    }
  });

  it('counts no entity for an I tag without its B, and ends one at a new B', () => {
    expect(iob2Entities(['I-PER', 'I-PER', 'O'])).toEqual([]);
    expect(iob2Entities(['B-PER', 'B-PER', 'I-PER', 'I-LOC'])).toEqual([
      { type: 'PER', start: 0, end: 1 },
      { type: 'PER', start: 1, end: 3 },
    ]);
    // seqeval's README example: one of two entities found, one spurious.
    const truth = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    expect(entityScores(truth, pred).f1).toBeCloseTo(0.5, 12);
    expect(entityScores([['O']], [['O']])).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(isIob2TagSet(['O', 'B-CAP', 'I-CAP'])).toBe(true);
    expect(isIob2TagSet(['NOUN', 'VERB'])).toBe(false);
    expect(() => entityScores([['O']], [['O', 'O']])).toThrow(/sequence 0/);
  });
});

describe("lm-eval's acc and acc_norm", () => {
  it('matches np.argmax of the log-likelihoods and of their per-character values, first of ties', () => {
    for (const c of CASES.multipleChoice) {
      const n = c.rows.length;
      const loglik = Float64Array.from(c.rows.flatMap((r) => r.loglik));
      const lengths = Float64Array.from(c.rows.flatMap((r) => r.choices.map((x) => x.length)));
      const labels = Int32Array.from(c.rows.map((r) => r.label));
      const got = choiceMetrics(loglik, lengths, labels, 4, Array.from({ length: n }, (_, i) => i));
      expect(got.acc).toBeCloseTo(c.acc, 12);
      expect(got.acc_norm).toBeCloseTo(c.acc_norm, 12);
    }
    // A tie goes to the first choice; a longer right answer wins only once normalised.
    const m = choiceMetrics(Float64Array.of(-4, -4, -10, -6), Float64Array.of(1, 1, 10, 2), Int32Array.of(2), 4, [0]);
    expect(m).toEqual({ acc: 0, acc_norm: 1 });
  });
});

describe('regression metrics', () => {
  it('match numpy (Pearson, MSE) and average-rank Spearman', () => {
    for (const c of CASES.regression) {
      const got = regressionMetrics(c.pred, c.target);
      expect(got.pearson).toBeCloseTo(c.pearson, 10);
      expect(got.spearman).toBeCloseTo(c.spearman, 10);
      expect(got.mse).toBeCloseTo(c.mse, 10);
    }
    expect(Array.from(averageRanks([3, 1, 3, 2]))).toEqual([3.5, 1, 3.5, 2]);
    expect(regressionMetrics([1, 1], [0, 1]).pearson).toBeNaN();
  });
});
