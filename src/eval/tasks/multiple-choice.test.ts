// Multiple choice on the language-model sample: per-choice log-likelihoods from the rewritten
// graph match an independent torch forward (src/eval/fixtures/lm/reference.json), and so do
// acc and acc_norm; a split keeps each question's choices together.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonl, subsetDataset } from '../dataset';
import { scoringGraph } from '../evaluator';
import { WeightFedSession } from '../ort';
import { scoreWeights } from '../score-checkpoint';
import { loadTokenizer } from '../tokenize';
import { readOnnx } from '../../formats/onnx-read';
import { weightsToInputs } from '../../formats/onnx-rewrite';
import { guessTask } from './guess-task';
import { multipleChoice } from './multiple-choice';
import { datasetBatch } from './token-inputs';

const LM = path.resolve(import.meta.dirname, '../../../public/samples/lm');
const REF = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/lm/reference.json'), 'utf8')) as {
  mcDev: Record<string, { loglik: number[][]; metrics: { acc: number; acc_norm: number } }>;
};
const tokenizer = loadTokenizer(readFileSync(path.join(LM, 'tokenizer.json'), 'utf8'), 'tokenizer.json');
const rows = parseJsonl(readFileSync(path.join(LM, 'mc-dev.jsonl'), 'utf8'), 'mc-dev.jsonl');
const bytes = new Uint8Array(readFileSync(path.join(LM, 'expert-easy-ham.onnx')));
const graph = readOnnx(bytes, 'expert-easy-ham.onnx');

describe('multiple choice', () => {
  const ds = multipleChoice.encodeRows(rows, { fileName: 'mc-dev.jsonl', shape: multipleChoice.modelShape(graph, 'g'), tokenizer });

  it('is guessed from the rows and lays each question out as its four choice sequences', () => {
    expect(guessTask(graph, rows, 'g').id).toBe('multiple-choice');
    expect(ds.choiceCount).toBe(4);
    expect(ds.sequenceLength % 4).toBe(0);
    const sub = subsetDataset(ds, [2, 0]);
    const L = ds.sequenceLength;
    expect(Array.from(sub.targetMask!.subarray(0, L))).toEqual(Array.from(ds.targetMask!.subarray(2 * L, 3 * L)));
    expect(Array.from(sub.choiceLengths!.subarray(4, 8))).toEqual(Array.from(ds.choiceLengths!.subarray(0, 4)));
    expect(() => multipleChoice.encodeRows([{ context: 'a b', choices: ['c', 'd'], label: 2, line: 9 }], { fileName: 'x.jsonl', shape: multipleChoice.modelShape(graph, 'g'), tokenizer })).toThrow(/x\.jsonl, line 9: "label" must be the index of the right choice \(0\.\.1\)/);
  });

  it('reproduces torch per choice and lm-eval acc / acc_norm', async () => {
    const ref = REF.mcDev['easy-ham']!;
    const session = await WeightFedSession.create({ modelBytes: weightsToInputs(scoringGraph('multiple-choice', bytes, 'g'), new Set()), path: 'wasm', weights: [] });
    try {
      for (let start = 0; start < ds.size; start += 16) {
        const batch = datasetBatch(ds, start, Math.min(16, ds.size - start));
        const out = await session.run(multipleChoice.buildInputs(session.dataInputNames, batch, 'g'), []);
        for (let i = 0; i < out.length; i++) {
          const want = ref.loglik[start + Math.floor(i / 4)]![i % 4]!;
          expect(Math.abs(out[i]! - want) / Math.abs(want)).toBeLessThan(1e-4);
        }
      }
    } finally {
      await session.release();
    }
    const scores = await scoreWeights(bytes, 'g', [], ds);
    expect(scores.metrics.acc).toBeCloseTo(ref.metrics.acc, 10);
    expect(scores.metrics.acc_norm).toBeCloseTo(ref.metrics.acc_norm, 10);
  }, 120_000);
});
