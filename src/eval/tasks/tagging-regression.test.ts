// Token classification and regression on their fixtures (tools/fixtures/make_task_fixtures.py):
// the tagger's entity F1 (seqeval strict IOB2) and token accuracy, the regressor's Pearson,
// Spearman and MSE, against the torch forward's predictions scored by the reference definitions.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonl } from '../dataset';
import { scoreWeights } from '../score-checkpoint';
import { loadTokenizer } from '../tokenize';
import { readOnnx } from '../../formats/onnx-read';
import { guessTask } from './guess-task';
import { detectTask } from './registry';

const FIX = path.resolve(import.meta.dirname, '../fixtures/lm');
const REF = JSON.parse(readFileSync(path.join(FIX, 'task-reference.json'), 'utf8')) as {
  tagger: { tags: string[]; f1: number; precision: number; recall: number; accuracy: number };
  regressor: { pearson: number; spearman: number; mse: number };
};
const tokenizer = loadTokenizer(readFileSync(path.resolve(import.meta.dirname, '../../../public/samples/lm/tokenizer.json'), 'utf8'), 'tokenizer.json');

describe('token classification', () => {
  const bytes = new Uint8Array(readFileSync(path.join(FIX, 'tagger.onnx')));
  const graph = readOnnx(bytes, 'tagger.onnx');
  const rows = parseJsonl(readFileSync(path.join(FIX, 'tagger-dev.jsonl'), 'utf8'), 'tagger-dev.jsonl');

  it('aligns words to first sub-tokens and scores entity F1 as seqeval does on the torch predictions', async () => {
    const task = guessTask(graph, rows, 'tagger.onnx');
    expect(task.id).toBe('token-classification');
    expect(detectTask(graph, 'tagger.onnx').id).toBe('token-classification');
    const ds = task.encodeRows(rows, { fileName: 'tagger-dev.jsonl', shape: task.modelShape(graph, 'tagger.onnx'), tokenizer, labels: REF.tagger.tags });
    // [CLS] is never scored; every word of a row is (one piece each here).
    expect(ds.tokenLabels![0]).toBe(-100);
    expect(task.balance(ds).reduce((a, b) => a + b, 0)).toBe(rows.reduce((n, r) => n + r.tokens!.length, 0));
    const scores = await scoreWeights(bytes, 'tagger.onnx', [], ds);
    expect(scores.metrics.f1).toBeCloseTo(REF.tagger.f1, 6);
    expect(scores.metrics.precision).toBeCloseTo(REF.tagger.precision, 6);
    expect(scores.metrics.recall).toBeCloseTo(REF.tagger.recall, 6);
    expect(scores.metrics.accuracy).toBeCloseTo(REF.tagger.accuracy, 6);
    // The same rows pre-tokenized, {"input_ids", "labels"} with -100 off the words, score the same.
    const L = ds.sequenceLength;
    const pre = rows.map((r, i) => {
      let n = L;
      while (n > 0 && ds.attentionMask[i * L + n - 1] === 0n) n--;
      return { inputIds: Array.from(ds.inputIds.subarray(i * L, i * L + n), Number), tokenLabels: Array.from(ds.tokenLabels!.subarray(i * L, i * L + n)), domain: r.domain!, line: r.line };
    });
    const again = await scoreWeights(bytes, 'tagger.onnx', [], task.encodeRows(pre, { fileName: 'pre.jsonl', shape: task.modelShape(graph, 'tagger.onnx'), labels: REF.tagger.tags }));
    expect(again.metrics).toEqual(scores.metrics);
  }, 60_000);

  it('names the file and line of a tag it cannot map', () => {
    const task = guessTask(graph, rows, 'tagger.onnx');
    const shape = task.modelShape(graph, 'tagger.onnx');
    expect(() => task.encodeRows([{ tokens: ['a'], tags: ['B-X'], line: 3 }], { fileName: 't.jsonl', shape, tokenizer, labels: REF.tagger.tags })).toThrow(/t\.jsonl, line 3: unknown tag "B-X"/);
    expect(() => task.encodeRows([{ tokens: ['a'], tags: ['O'], line: 1 }], { fileName: 't.jsonl', shape, tokenizer })).toThrow(/no tag list was given/);
  });
});

describe('regression', () => {
  it('scores Pearson, Spearman and MSE as numpy does on the torch predictions', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(FIX, 'regressor.onnx')));
    const graph = readOnnx(bytes, 'regressor.onnx');
    const rows = parseJsonl(readFileSync(path.join(FIX, 'regression-dev.jsonl'), 'utf8'), 'regression-dev.jsonl');
    const task = detectTask(graph, 'regressor.onnx');
    expect(task.id).toBe('regression');
    const ds = task.encodeRows(rows, { fileName: 'regression-dev.jsonl', shape: task.modelShape(graph, 'regressor.onnx') });
    const scores = await scoreWeights(bytes, 'regressor.onnx', [], ds);
    expect(scores.metrics.pearson).toBeCloseTo(REF.regressor.pearson, 5);
    expect(scores.metrics.spearman).toBeCloseTo(REF.regressor.spearman, 5);
    expect(scores.metrics.mse).toBeCloseTo(REF.regressor.mse, 6);
    expect(() => task.encodeRows([{ inputIds: [2, 3], label: 'x', line: 2 }], { fileName: 'r.jsonl', shape: task.modelShape(graph, 'g') })).toThrow(/r\.jsonl, line 2: a regression row needs a numeric "label"/);
  }, 60_000);
});
