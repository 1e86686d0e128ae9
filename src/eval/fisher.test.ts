import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeHeadFisher, findHeadLayer, fisherWeightedMerge } from './fisher';
import { readOnnx } from '../formats/onnx-read';
import { encodeDataset, parseJsonl } from './dataset';
import { loadTokenizer } from './tokenize';

const SAMPLES = path.resolve(import.meta.dirname, '../../public/samples');

describe('fisherWeightedMerge', () => {
  it('weights each model by its Fisher per element; all-zero Fisher falls back to the mean', () => {
    const out = new Float32Array(3);
    fisherWeightedMerge(
      [Float32Array.of(1, 2, 10), Float32Array.of(3, 4, 20)],
      [Float64Array.of(1, 0, 0), Float64Array.of(3, 1, 0)],
      out,
    );
    // (1·1 + 3·3)/4 = 2.5; only model 2 has Fisher at j=1 → 4; none at j=2 → (10+20)/2
    expect(Array.from(out)).toEqual([2.5, 4, 15]);
  });
});

describe.skipIf(!existsSync(path.join(SAMPLES, 'expert-a.onnx')))('head Fisher on the samples', () => {
  it('finds the Gemm head and computes an empirical Fisher with the binary-softmax symmetry', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(SAMPLES, 'expert-a.onnx')));
    const model = readOnnx(bytes, 'expert-a.onnx');
    const head = findHeadLayer(bytes, model, 'expert-a.onnx')!;
    expect(head).toMatchObject({ weightName: 'head.weight', biasName: 'head.bias', outputName: 'logits', layout: 'out-in', inDim: 48, outDim: 2 });

    const tokenizer = loadTokenizer(readFileSync(path.join(SAMPLES, 'tokenizer.json'), 'utf8'), 'tokenizer.json');
    const rows = parseJsonl(readFileSync(path.join(SAMPLES, 'dev.jsonl'), 'utf8'), 'dev.jsonl').slice(0, 96);
    const ds = encodeDataset(rows, { fileName: 'dev.jsonl', tokenizer, sequenceLength: 64, padId: 0, labelCount: 2 });
    const f = await computeHeadFisher(bytes, head, ds, 'expert-a.onnx');
    expect(f.weight.length).toBe(96);
    expect(f.weight.every((v) => v >= 0)).toBe(true);
    expect(f.weight.some((v) => v > 0)).toBe(true);
    // With two classes δ_0 = −δ_1, so both output rows carry the same Fisher.
    for (let i = 0; i < 48; i++) expect(f.weight[i]).toBeCloseTo(f.weight[48 + i], 12);
    expect(f.bias![0]).toBeCloseTo(f.bias![1], 12);
    // E[δ²] ≤ 1 for a probability difference.
    expect(f.bias![0]).toBeLessThanOrEqual(1);
  });
});
