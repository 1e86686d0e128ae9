import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeGramMatrices, GramAccumulator, GramError, tokenRowMask } from './gram';
import { encodeDataset, parseJsonl, subsetDataset, type EncodedDataset } from './dataset';
import { loadTokenizer } from './tokenize';
import { scoreWeights } from './score-checkpoint';
import { ONNX_FLOAT, ONNX_INT64 } from '../formats/onnx-schema';
import { readOnnx } from '../formats/onnx-read';
import { findLinearLayers } from '../formats/onnx-outputs';
import { WireWriter } from '../formats/onnx-wire';
import { regmeanMerge } from '../kernels/linear-operator/regmean.cpu';
import { mulberry32, randomFloats } from '../testing/seeded';

const SAMPLES = path.resolve(import.meta.dirname, '../../public/samples');
const hasSamples = existsSync(path.join(SAMPLES, 'manifest.json'));

function naiveGram(rows: number[][], n: number): Float64Array {
  const G = new Float64Array(n * n);
  for (const x of rows) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] += x[i]! * x[j]!;
  return G.map((v) => v / rows.length);
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-30);
}

describe('GramAccumulator', () => {
  it('matches the naive mean of outer products for kept rows, any row count (unrolled and remainder paths)', () => {
    for (const rows of [1, 3, 4, 9, 23]) {
      const n = 5;
      const x = randomFloats(rows * n, rows);
      const r = mulberry32(rows + 100);
      const keep = Uint8Array.from({ length: rows }, () => (r() < 0.7 ? 1 : 0));
      keep[0] = 1;
      const acc = new GramAccumulator(n);
      acc.add(x, keep);
      const kept: number[][] = [];
      for (let i = 0; i < rows; i++) if (keep[i]) kept.push(Array.from(x.subarray(i * n, (i + 1) * n)));
      expect(acc.count).toBe(kept.length);
      expect(maxRelDiff(acc.mean(), naiveGram(kept, n))).toBeLessThan(1e-12);
    }
  });

  it('accumulates across calls as one running mean', () => {
    const n = 3;
    const a = randomFloats(6 * n, 1);
    const b = randomFloats(5 * n, 2);
    const acc = new GramAccumulator(n);
    acc.add(a);
    acc.add(b);
    const all = [...Array.from({ length: 6 }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))), ...Array.from({ length: 5 }, (_, i) => Array.from(b.subarray(i * n, (i + 1) * n)))];
    expect(maxRelDiff(acc.mean(), naiveGram(all, n))).toBeLessThan(1e-12);
  });

  it('rejects ragged input and an empty mean', () => {
    const acc = new GramAccumulator(4);
    expect(() => acc.add(new Float32Array(6))).toThrow(GramError);
    expect(() => acc.add(new Float32Array(8), new Uint8Array(3))).toThrow(/2 rows/);
    acc.add(new Float32Array(8), new Uint8Array(2));
    expect(() => acc.mean()).toThrow(/no tokens/);
  });
});

describe('tokenRowMask', () => {
  const mask = BigInt64Array.from([1, 1, 0, 1, 0, 0].map(BigInt)); // batch 2, L 3
  it('maps [batch, L, in] and [batch, heads, L, in] rows to the attention mask', () => {
    expect(Array.from(tokenRowMask([2, 3, 8], mask, 2, 3)!)).toEqual([1, 1, 0, 1, 0, 0]);
    expect(Array.from(tokenRowMask([2, 2, 3, 8], mask, 2, 3)!)).toEqual([1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0]);
  });
  it('counts every row of pooled or unrelated shapes', () => {
    expect(tokenRowMask([2, 8], mask, 2, 3)).toBeNull();
    expect(tokenRowMask([2, 5, 8], mask, 2, 3)).toBeNull();
    expect(tokenRowMask([6, 8], mask, 2, 3)).toBeNull();
  });
});

// ---------------------------------------------------------------- a tiny token classifier

const V = 10;
const D = 4;
const H = 6;
const L = 5;

function tensor(name: string, dims: number[], floats: Float32Array): WireWriter {
  return new WireWriter().packedVarints(1, dims).varintField(2, ONNX_FLOAT).stringField(8, name).bytesField(9, new Uint8Array(floats.slice().buffer));
}
function valueInfo(name: string, elemType: number, dims: (number | string)[]): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) shape.messageField(1, typeof d === 'number' ? new WireWriter().varintField(1, d) : new WireWriter().stringField(2, d));
  return new WireWriter().stringField(1, name).messageField(2, new WireWriter().messageField(1, new WireWriter().varintField(1, elemType).messageField(2, shape)));
}
function node(op: string, inputs: string[], outputs: string[], ints: Record<string, number> = {}): WireWriter {
  const w = new WireWriter();
  for (const i of inputs) w.stringField(1, i);
  for (const o of outputs) w.stringField(2, o);
  w.stringField(4, op);
  for (const [k, v] of Object.entries(ints)) w.messageField(5, new WireWriter().stringField(1, k).varintField(20, 2).varintField(3, v));
  return w;
}

/**
 * input_ids → Gather(emb) h [b, L, D] → MatMul W1 [D, H] + b1 → Relu → ReduceSum over L
 * (padding included: the graph ignores the mask) p [b, H] → Gemm(W2 [2, H], transB=1) → logits;
 * a second MatMul W3 [D, 3] reads h too (like q/k/v) and feeds an extra output.
 */
function tinyClassifier() {
  const emb = randomFloats(V * D, 31);
  const W1 = randomFloats(D * H, 32);
  const b1 = randomFloats(H, 33);
  const graph = new WireWriter();
  graph.messageField(1, node('Gather', ['emb', 'input_ids'], ['h']));
  graph.messageField(1, node('MatMul', ['h', 'W1'], ['a']));
  graph.messageField(1, node('Add', ['a', 'b1'], ['ab']));
  graph.messageField(1, node('Relu', ['ab'], ['r']));
  graph.messageField(1, node('ReduceSum', ['r', 'axes'], ['p'], { keepdims: 0 }));
  graph.messageField(1, node('Gemm', ['p', 'W2', 'b2'], ['logits'], { transB: 1 }));
  graph.messageField(1, node('MatMul', ['h', 'W3'], ['aux']));
  graph.stringField(2, 'tiny');
  graph.messageField(5, tensor('emb', [V, D], emb));
  graph.messageField(5, tensor('W1', [D, H], W1));
  graph.messageField(5, tensor('b1', [H], b1));
  graph.messageField(5, tensor('W2', [2, H], randomFloats(2 * H, 34)));
  graph.messageField(5, tensor('b2', [2], randomFloats(2, 35)));
  graph.messageField(5, tensor('W3', [D, 3], randomFloats(D * 3, 36)));
  graph.messageField(5, new WireWriter().packedVarints(1, [1]).varintField(2, ONNX_INT64).stringField(8, 'axes').packedVarints(7, [1]));
  graph.messageField(11, valueInfo('input_ids', ONNX_INT64, ['batch', L]));
  graph.messageField(11, valueInfo('attention_mask', ONNX_INT64, ['batch', L]));
  graph.messageField(12, valueInfo('logits', ONNX_FLOAT, ['batch', 2]));
  graph.messageField(12, valueInfo('aux', ONNX_FLOAT, ['batch', L, 3]));
  const bytes = new WireWriter().varintField(1, 8).messageField(8, new WireWriter().stringField(1, '').varintField(2, 17)).messageField(7, graph).finish();
  return { bytes, emb, W1, b1 };
}

function tinyDataset(size: number, seed: number): EncodedDataset {
  const r = mulberry32(seed);
  const inputIds = new BigInt64Array(size * L);
  const attentionMask = new BigInt64Array(size * L);
  for (let i = 0; i < size; i++) {
    const len = 1 + Math.floor(r() * L);
    for (let t = 0; t < L; t++) {
      // Padding id 0 has a non-zero embedding: counting it would change the Gram matrix.
      inputIds[i * L + t] = t < len ? BigInt(1 + Math.floor(r() * (V - 1))) : 0n;
      attentionMask[i * L + t] = t < len ? 1n : 0n;
    }
  }
  return { task: 'sequence-classification', size, sequenceLength: L, inputIds, attentionMask, labels: new Int32Array(size), domains: Array<string>(size).fill(''), domainNames: [], labelCount: 2 };
}

describe('computeGramMatrices', () => {
  it('matches a hand computation: masked tokens for [b, L, in] inputs, every row for pooled inputs', async () => {
    const { bytes, emb, W1, b1 } = tinyClassifier();
    const layers = findLinearLayers(bytes);
    expect(layers.map((l) => [l.weightName, l.inputName, l.layout])).toEqual([
      ['W1', 'h', 'in-out'],
      ['W2', 'p', 'out-in'],
      ['W3', 'h', 'in-out'],
    ]);
    const ds = tinyDataset(13, 3);
    const progress: number[] = [];
    const grams = await computeGramMatrices(bytes, layers, ds, { batchSize: 4, onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([4, 8, 12, 13]);

    const tokens: number[][] = [];
    const allTokens: number[][] = [];
    const pooled: number[][] = [];
    for (let i = 0; i < ds.size; i++) {
      const p = new Array<number>(H).fill(0);
      for (let t = 0; t < L; t++) {
        const id = Number(ds.inputIds[i * L + t]);
        const h = Array.from(emb.subarray(id * D, (id + 1) * D));
        allTokens.push(h);
        if (ds.attentionMask[i * L + t]) tokens.push(h);
        for (let o = 0; o < H; o++) {
          let s = b1[o]!;
          for (let k = 0; k < D; k++) s += h[k]! * W1[k * H + o]!;
          p[o] += Math.max(0, s);
        }
      }
      pooled.push(p);
    }
    expect(maxRelDiff(grams.get('W1')!, naiveGram(tokens, D))).toBeLessThan(1e-6);
    expect(maxRelDiff(grams.get('W1')!, naiveGram(allTokens, D))).toBeGreaterThan(1e-3);
    expect(maxRelDiff(grams.get('W2')!, naiveGram(pooled, H))).toBeLessThan(1e-5);
    // Layers reading the same activation share one matrix.
    expect(grams.get('W3')).toBe(grams.get('W1'));
  });

  it('does not depend on the batch size', async () => {
    const { bytes } = tinyClassifier();
    const layers = findLinearLayers(bytes);
    const ds = tinyDataset(11, 4);
    const a = await computeGramMatrices(bytes, layers, ds, { batchSize: 11 });
    const b = await computeGramMatrices(bytes, layers, ds, { batchSize: 3 });
    for (const name of ['W1', 'W2']) expect(maxRelDiff(a.get(name)!, b.get(name)!)).toBeLessThan(1e-9);
  });

  it('names the file when the dataset holds no real tokens', async () => {
    const { bytes } = tinyClassifier();
    const ds = tinyDataset(3, 5);
    ds.attentionMask.fill(0n);
    await expect(computeGramMatrices(bytes, findLinearLayers(bytes), ds, { fileName: 'tiny.onnx' })).rejects.toThrow(/^tiny\.onnx: no real tokens reached "h"/);
  });
});

// ---------------------------------------------------------------- the sample checkpoints

interface Manifest {
  tokenizer: string;
  dev: string;
  labels: string[];
}

function loadDev(): EncodedDataset {
  const manifest = JSON.parse(readFileSync(path.join(SAMPLES, 'manifest.json'), 'utf8')) as Manifest;
  const tokenizer = loadTokenizer(readFileSync(path.join(SAMPLES, manifest.tokenizer), 'utf8'), manifest.tokenizer);
  const rows = parseJsonl(readFileSync(path.join(SAMPLES, manifest.dev), 'utf8'), manifest.dev);
  return encodeDataset(rows, { fileName: manifest.dev, tokenizer, sequenceLength: 64, padId: tokenizer.padId ?? 0, labelCount: 2, labels: manifest.labels });
}

describe.skipIf(!hasSamples)('RegMean on the sample checkpoints (WASM path)', () => {
  it('captures Gram matrices of the three experts and RegMean-merges them into an accurate model', async () => {
    const dev = loadDev();
    // Every 9th row: all five domains, not just the first one in file order.
    const gramRows = subsetDataset(dev, Array.from({ length: 64 }, (_, i) => i * 9));
    const files = ['expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx'];
    const bytes = files.map((f) => new Uint8Array(readFileSync(path.join(SAMPLES, f))));
    const models = bytes.map((b, i) => readOnnx(b, files[i]!));
    const layers = findLinearLayers(bytes[0]!, models[0]);
    expect(layers).toHaveLength(13);

    const t0 = performance.now();
    const grams: Map<string, Float64Array>[] = [];
    for (let i = 0; i < 3; i++) grams.push(await computeGramMatrices(bytes[i]!, layers, gramRows, { fileName: files[i] }));
    const gramMs = performance.now() - t0;
    for (const g of grams) {
      for (const l of layers) {
        const G = g.get(l.weightName)!;
        expect(G).toHaveLength(l.inDim * l.inDim);
        for (let i = 0; i < l.inDim; i++) {
          expect(G[i * l.inDim + i]).toBeGreaterThan(0);
          for (let j = 0; j < i; j++) expect(G[i * l.inDim + j]).toBe(G[j * l.inDim + i]);
        }
      }
    }
    // Different experts see the same tokens differently.
    expect(maxRelDiff(grams[0]!.get(layers[5]!.weightName)!, grams[1]!.get(layers[5]!.weightName)!)).toBeGreaterThan(1e-3);

    const linear = new Set(layers.map((l) => l.weightName));
    const floats = (i: number) => new Map(models[i]!.initializers.filter((t) => t.floats).map((t) => [t.name, t.floats!]));
    const perModel = [0, 1, 2].map(floats);
    const names = [...perModel[0]!.keys()];
    const average = names.map((name) => {
      const data = new Float32Array(perModel[0]!.get(name)!.length);
      for (const m of perModel) m.get(name)!.forEach((v, k) => (data[k] += v / 3));
      return { name, data };
    });
    const ridges: number[] = [];
    const regmean = average.map(({ name, data }) => {
      if (!linear.has(name)) return { name, data };
      const l = layers.find((x) => x.weightName === name)!;
      const r = regmeanMerge(
        perModel.map((m) => m.get(name)!),
        grams.map((g) => g.get(name)!),
        l.layout,
        l.inDim,
        l.outDim,
        0.9,
      );
      ridges.push(r.ridge);
      return { name, data: r.merged };
    });

    const avgScore = await scoreWeights(bytes[0]!, files[0]!, average, dev);
    const regScore = await scoreWeights(bytes[0]!, files[0]!, regmean, dev);
    console.log(
      `RegMean (alpha 0.9, 13 layers, Grams on 64 dev rows in ${gramMs.toFixed(0)} ms for 3 models): ` +
        `dev accuracy ${regScore.metrics.accuracy.toFixed(4)} macro-F1 ${regScore.metrics.macroF1.toFixed(4)}; ` +
        `simple average ${avgScore.metrics.accuracy.toFixed(4)} / ${avgScore.metrics.macroF1.toFixed(4)}; ridges ${JSON.stringify([...new Set(ridges)])}`,
    );
    expect(regScore.size).toBe(588);
    expect(regScore.metrics.accuracy).toBeGreaterThan(0.8);
  });
});
