// RegMean's Gram capture on a decoder (the language-model sample): every linear layer of the
// blocks and the LM head is found, and padding is masked as the batch was fed, cut to its
// longest row: batches of padded rows give the Gram matrices of one unpadded row per batch.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonl } from './dataset';
import { computeGramMatrices } from './gram';
import { loadTokenizer } from './tokenize';
import { readOnnx } from '../formats/onnx-read';
import { findLinearLayers } from '../formats/onnx-outputs';
import { causalLm } from './tasks/causal-lm';

const LM = path.resolve(import.meta.dirname, '../../public/samples/lm');

describe('Gram capture on a decoder', () => {
  it('masks padding of batches cut to their longest row', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(LM, 'base.onnx')));
    const graph = readOnnx(bytes, 'base.onnx');
    const layers = findLinearLayers(bytes, graph, 'base.onnx');
    // q, k, v, o, fc1, fc2 in each of 2 blocks, and the LM head.
    expect(layers.length).toBe(13);
    const tokenizer = loadTokenizer(readFileSync(path.join(LM, 'tokenizer.json'), 'utf8'), 'tokenizer.json');
    const rows = parseJsonl(readFileSync(path.join(LM, 'dev.jsonl'), 'utf8'), 'dev.jsonl').filter((_, i) => i % 25 === 0)
      // Rows of different lengths, so that a batch of them has padding.
      .map((r, i) => ({ ...r, text: r.text!.split(' ').slice(0, 4 + 5 * i).join(' ') }));
    const ds = causalLm.encodeRows(rows, { fileName: 'dev.jsonl', shape: causalLm.modelShape(graph, 'base.onnx'), tokenizer });
    const lengths = new Set<number>();
    for (let r = 0; r < ds.size; r++) {
      let n = 0;
      for (let t = 0; t < ds.sequenceLength; t++) n += Number(ds.attentionMask[r * ds.sequenceLength + t]);
      lengths.add(n);
    }
    expect(lengths.size).toBeGreaterThan(1); // the rows differ in length: a batch has padding
    // Batches of 3: each is cut to its own longest row, shorter than the dataset's.
    const batched = await computeGramMatrices(bytes, layers, ds, { batchSize: 3 });
    const single = await computeGramMatrices(bytes, layers, ds, { batchSize: 1 });
    for (const layer of layers) {
      const a = batched.get(layer.weightName)!;
      const b = single.get(layer.weightName)!;
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
      expect(diff / scale).toBeLessThan(1e-5);
    }
  }, 120_000);
});
