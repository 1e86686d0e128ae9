// The causal-LM task on the language-model sample (tools/fixtures/make_lm_fixtures.py): the
// graph rewritten with the log-likelihood head reproduces, row by row, the summed NLL of an
// independent torch forward of each row alone (src/eval/fixtures/lm/reference.json), whatever
// the batch and its padding; the split's mean token NLL and perplexity match, per domain too.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonl } from '../dataset';
import { scoringGraph } from '../evaluator';
import { WeightFedSession } from '../ort';
import { scoreWeights } from '../score-checkpoint';
import { loadTokenizer } from '../tokenize';
import { readOnnx } from '../../formats/onnx-read';
import { addRowLoglik, LOGLIK_MASK_INPUT, LOGLIK_OUTPUT, LOGLIK_TARGETS_INPUT } from '../../formats/onnx-loglik';
import { weightsToInputs } from '../../formats/onnx-rewrite';
import { causalLm } from './causal-lm';
import { detectTask } from './registry';
import { datasetBatch } from './token-inputs';

const LM = path.resolve(import.meta.dirname, '../../../public/samples/lm');
const REF = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/lm/reference.json'), 'utf8')) as {
  dev: Record<string, { nll: number[]; tokens: number[]; summary: Record<string, { meanNll: number; perplexity: number; tokens: number }> }>;
};
const tokenizer = loadTokenizer(readFileSync(path.join(LM, 'tokenizer.json'), 'utf8'), 'tokenizer.json');
const devRows = parseJsonl(readFileSync(path.join(LM, 'dev.jsonl'), 'utf8'), 'dev.jsonl');
const graphFile = (key: string) => (key === 'base' ? 'base.onnx' : `expert-${key}.onnx`);

function encode(bytes: Uint8Array, rows = devRows) {
  const graph = readOnnx(bytes, 'g.onnx');
  return causalLm.encodeRows(rows, { fileName: 'dev.jsonl', shape: causalLm.modelShape(graph, 'g.onnx'), tokenizer });
}

describe('causal LM scoring', () => {
  const bytes = new Uint8Array(readFileSync(path.join(LM, 'expert-spam.onnx')));

  it('is detected from a decoder graph and rewrites it to one float per row', () => {
    const graph = readOnnx(bytes, 'expert-spam.onnx');
    expect(detectTask(graph, 'expert-spam.onnx').id).toBe('causal-lm');
    const shape = causalLm.modelShape(graph, 'g');
    expect(shape.dynamicSequence).toBe(true);
    const rewritten = readOnnx(addRowLoglik(bytes), 'r.onnx');
    expect(rewritten.outputs.map((o) => o.name)).toEqual([LOGLIK_OUTPUT]);
    expect(rewritten.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', LOGLIK_TARGETS_INPUT, LOGLIK_MASK_INPUT]);
    expect(rewritten.nodes.slice(-5).map((n) => n.opType)).toEqual(['LogSoftmax', 'GatherElements', 'Cast', 'Mul', 'ReduceSum']);
    expect(addRowLoglik(addRowLoglik(bytes))).toEqual(addRowLoglik(bytes));
    expect(() => addRowLoglik(new Uint8Array(readFileSync(path.resolve(LM, '../expert-a.onnx'))), 'cls.onnx')).toThrow(/cls\.onnx.*\[batch, sequence, vocab\]/);
  });

  it('pads a batch to its longest row and reproduces torch per row, whatever the batch', async () => {
    const ds = encode(bytes);
    expect(ds.sequenceLength).toBeLessThanOrEqual(64);
    const ref = REF.dev.spam!;
    const session = await WeightFedSession.create({ modelBytes: weightsToInputs(scoringGraph('causal-lm', bytes, 'g'), new Set()), path: 'wasm', weights: [] });
    try {
      for (const size of [1, 7, 64]) {
        for (let start = 0; start < ds.size; start += size) {
          const batch = datasetBatch(ds, start, Math.min(size, ds.size - start));
          const inputs = causalLm.buildInputs(session.dataInputNames, batch, 'g');
          const out = await session.run(inputs, []);
          expect(out.length).toBe(batch.rows);
          for (let i = 0; i < batch.rows; i++) {
            const want = ref.nll[start + i]!;
            expect(Math.abs(-out[i]! - want) / want).toBeLessThan(1e-4);
          }
        }
        if (size === 64) break;
      }
    } finally {
      await session.release();
    }
  }, 120_000);

  it('scores the split as the mean token NLL and its perplexity, per domain', async () => {
    for (const key of ['base', 'hard-ham']) {
      const b = new Uint8Array(readFileSync(path.join(LM, graphFile(key))));
      const scores = await scoreWeights(b, graphFile(key), [], encode(b));
      expect(scores.task).toBe('causal-lm');
      const summary = REF.dev[key]!.summary;
      for (const d of scores.byDomain) {
        expect(d.metrics.nll).toBeCloseTo(summary[d.domain]!.meanNll, 4);
        expect(d.metrics.perplexity! / summary[d.domain]!.perplexity).toBeCloseTo(1, 4);
      }
      expect(scores.byDomain.map((d) => d.domain)).toEqual(['all', 'easy-ham', 'hard-ham', 'spam']);
    }
  }, 120_000);

  it('scores pre-tokenized rows as their text', async () => {
    const text = devRows.slice(0, 6);
    const ids = text.map((r, i) => ({ inputIds: tokenizer.encode(r.text!, 64), ...(i % 2 ? { attentionMask: tokenizer.encode(r.text!, 64).map(() => 1) } : {}), domain: r.domain!, line: r.line }));
    const a = await scoreWeights(bytes, 'g', [], encode(bytes, text));
    const b = await scoreWeights(bytes, 'g', [], encode(bytes, ids));
    expect(b.metrics.nll).toBeCloseTo(a.metrics.nll!, 10);
  }, 60_000);

  it('never scores padding or a row\'s first token, and refuses a one-token row', () => {
    const ds = encode(bytes, devRows.slice(0, 3));
    for (let r = 0; r < ds.size; r++) {
      const L = ds.sequenceLength;
      let n = 0;
      for (let t = 0; t < L; t++) n += Number(ds.targetMask![r * L + t]);
      expect(n).toBe(REF.dev.spam!.tokens[r]);
      expect(ds.targetMask![r * L]).toBe(0n);
    }
    expect(() => encode(bytes, [{ inputIds: [2], line: 4 }])).toThrow(/dev\.jsonl, line 4: the row has fewer than 2 tokens/);
  });
});
