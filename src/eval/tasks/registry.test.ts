import { describe, expect, it } from 'vitest';
import { TASKS, TaskError, bestFitness, compareFitness, compareInOrder, detectTask, fitnessOf, getTask, primaryMetric, readStoredFitness } from './registry';
import { sequenceClassification } from './sequence-classification';
import { formatMetric, metricColumn, metricHeader } from './metric-format';
import { datasetBatch, ModelInputError } from './token-inputs';
import { encodeDataset } from '../dataset';
import type { GraphSignature } from './task';
import { fit } from '../../testing/fitness';

const classifier: GraphSignature = {
  inputs: [
    { name: 'input_ids', dims: ['batch', 64] },
    { name: 'attention_mask', dims: ['batch', 64] },
  ],
  outputs: [{ name: 'logits', dims: ['batch', 2] }],
};

describe('the task registry', () => {
  it('lists each task once, every fitness key a metric of its own', () => {
    expect(new Set(TASKS.map((t) => t.id)).size).toBe(TASKS.length);
    for (const task of TASKS) {
      expect(task.fitness.length).toBeGreaterThan(0);
      for (const key of task.fitness) expect(task.metrics.map((m) => m.key)).toContain(key);
    }
    expect(getTask('sequence-classification')).toBe(sequenceClassification);
    expect(() => getTask('nope')).toThrow(TaskError);
  });

  it("detects a classifier from its [batch, classes] logits and reads its shape", () => {
    expect(sequenceClassification.detect(classifier)).toBe(1);
    expect(detectTask(classifier, 'm.onnx')).toBe(sequenceClassification);
    expect(sequenceClassification.modelShape(classifier, 'm.onnx')).toEqual({ sequenceLength: 64, labelCount: 2 });
    // A symbolic class axis fits no task: refused naming the file and the outputs.
    const symbolic: GraphSignature = { ...classifier, outputs: [{ name: 'logits', dims: ['batch', 'classes'] }] };
    expect(sequenceClassification.detect(symbolic)).toBe(0);
    expect(() => detectTask(symbolic, 'm.onnx')).toThrow(/m\.onnx: no task fits the graph's outputs logits \[batch, classes\]/);
    // [batch, seq, vocab] is a token-level head: classification only might fit.
    const tokens: GraphSignature = { ...classifier, outputs: [{ name: 'logits', dims: ['batch', 64, 30522] }] };
    expect(sequenceClassification.detect(tokens)).toBeLessThan(sequenceClassification.detect(classifier));
  });

  it('names its metrics for tables, charts and CSV columns', () => {
    expect(sequenceClassification.metrics.map((m) => [m.key, m.label, m.short, m.higherIsBetter, m.format])).toEqual([
      ['accuracy', 'accuracy', 'acc.', true, 'percent'],
      ['macroF1', 'macro-F1', 'macro-F1', true, 'percent'],
    ]);
    const [acc, f1] = sequenceClassification.metrics;
    expect(primaryMetric(sequenceClassification)).toBe(acc);
    expect(metricHeader('Dev', acc!)).toBe('Dev acc.');
    expect(metricHeader('held-out', f1!, true)).toBe('held-out macro-F1 %');
    expect(metricColumn(f1!)).toBe('macro_f1');
    expect(formatMetric(acc!, 0.93715, 2)).toBe('93.72%');
    expect(formatMetric(acc!, NaN)).toBe('–');
    expect(formatMetric({ ...acc!, format: 'decimal' }, 2.5)).toBe('2.500');
  });

  it('orders fitness by accuracy, then macro-F1; equal is not better; NaN orders nothing', () => {
    expect(compareFitness(fit(0.9, 0.1), fit(0.8, 0.9))).toBeGreaterThan(0);
    expect(compareFitness(fit(0.8, 0.9), fit(0.9, 0.1))).toBeLessThan(0);
    expect(compareFitness(fit(0.9, 0.5), fit(0.9, 0.4))).toBeGreaterThan(0);
    expect(compareFitness(fit(0.9, 0.4), fit(0.9, 0.4))).toBe(0);
    expect(compareFitness(fit(NaN, 0.4), fit(0.9, 0.4))).toBe(0);
    expect(bestFitness([fit(0.8, 0.9), fit(0.9, 0.1), fit(0.9, 0.1)])).toEqual(fit(0.9, 0.1));
    expect(() => compareFitness(fit(1, 1), { task: 'other', values: [1] })).toThrow(TaskError);
  });

  it("follows the descriptors' direction: a lower-is-better primary (as a causal LM's NLL) wins when smaller", () => {
    const lm = { ...sequenceClassification, id: 'lower-is-better', metrics: [{ ...sequenceClassification.metrics[0]!, higherIsBetter: false }, sequenceClassification.metrics[1]!] };
    const f = (a: number, b: number) => ({ task: lm.id, values: [a, b] });
    expect(compareInOrder(lm, f(1.5, 0), f(2, 0))).toBeGreaterThan(0);
    expect(compareInOrder(lm, f(2, 0.9), f(1.5, 0))).toBeLessThan(0);
    expect(compareInOrder(lm, f(1.5, 0.2), f(1.5, 0.1))).toBeGreaterThan(0);
  });

  it('builds the model inputs once, for the graph inputs it can feed, and scores into fitness', () => {
    const rows = [0, 1, 1].map((label, i) => ({ inputIds: [2, 5 + i], label, line: i + 1 }));
    const ds = encodeDataset(rows, { fileName: 'dev.jsonl', sequenceLength: 4, padId: 0, labelCount: 2 });
    const batch = datasetBatch(ds, 1, 2);
    const feeds = sequenceClassification.buildInputs(['input_ids', 'token_type_ids'], batch, 'm.onnx');
    expect(Object.keys(feeds)).toEqual(['input_ids', 'token_type_ids']);
    expect(feeds.input_ids!.dims).toEqual([2, 4]);
    expect(Array.from(feeds.input_ids!.data)).toEqual([2n, 6n, 0n, 0n, 2n, 7n, 0n, 0n]);
    expect(Array.from(feeds.token_type_ids!.data)).toEqual(new Array(8).fill(0n));
    expect(() => sequenceClassification.buildInputs(['pixel_values'], batch, 'm.onnx')).toThrow(ModelInputError);

    const scorer = sequenceClassification.scorer(ds);
    scorer.add(Float32Array.from([3, 0]), datasetBatch(ds, 0, 1));
    scorer.add(Float32Array.from([0, 3, 3, 0]), batch);
    const scores = scorer.scores();
    expect(scores).toMatchObject({ task: 'sequence-classification', size: 3, metrics: { accuracy: 2 / 3 } });
    expect(fitnessOf(scores)).toEqual({ task: 'sequence-classification', values: [2 / 3, scores.metrics.macroF1] });
    expect(() => scorer.add(new Float32Array(3), batch)).toThrow(/3 logits for 2 rows/);
  });

  it('reads stored fitness in the current shape and the {accuracy, macroF1} of older journals', () => {
    expect(readStoredFitness(fit(0.5, 0.25))).toEqual(fit(0.5, 0.25));
    expect(readStoredFitness({ task: 'sequence-classification', values: [0.5, null] })).toEqual(fit(0.5, NaN));
    expect(readStoredFitness({ accuracy: 0.5, macroF1: 0.25 })).toEqual(fit(0.5, 0.25));
    expect(readStoredFitness({ accuracy: 0.5 })).toBeNull();
    expect(readStoredFitness(null)).toBeNull();
  });
});
