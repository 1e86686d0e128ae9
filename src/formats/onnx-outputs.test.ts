import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError } from './errors';
import { ONNX_FLOAT } from './onnx-schema';
import { readOnnx } from './onnx-read';
import { addGraphOutputs, findLinearLayers, readNodeScalarAttributes } from './onnx-outputs';
import { WireWriter } from './onnx-wire';
import { mulberry32, randomFloats } from '../testing/seeded';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const SAMPLES = path.resolve(import.meta.dirname, '../../public/samples');
const EXPERT_A = path.join(SAMPLES, 'expert-a.onnx');
const TINY = path.resolve(import.meta.dirname, 'fixtures/tiny-classifier.onnx');

// ---------------------------------------------------------------- a small model builder

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  ints?: Record<string, number>;
  floats?: Record<string, number>;
}

function tensor(name: string, dims: number[], floats: Float32Array): WireWriter {
  return new WireWriter().packedVarints(1, dims).varintField(2, ONNX_FLOAT).stringField(8, name).bytesField(9, new Uint8Array(floats.slice().buffer));
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) shape.messageField(1, typeof d === 'number' ? new WireWriter().varintField(1, d) : new WireWriter().stringField(2, d));
  const tensorType = new WireWriter().varintField(1, elemType).messageField(2, shape);
  return new WireWriter().stringField(1, name).messageField(2, new WireWriter().messageField(1, tensorType));
}

function node(n: NodeSpec): WireWriter {
  const w = new WireWriter();
  for (const i of n.inputs) w.stringField(1, i);
  for (const o of n.outputs) w.stringField(2, o);
  w.stringField(4, n.op);
  for (const [k, v] of Object.entries(n.ints ?? {})) w.messageField(5, new WireWriter().stringField(1, k).varintField(20, 2).varintField(3, v));
  for (const [k, v] of Object.entries(n.floats ?? {})) w.messageField(5, new WireWriter().stringField(1, k).varintField(20, 1).floatField(2, v));
  return w;
}

function buildModel(
  nodes: NodeSpec[],
  initializers: [string, number[]][],
  inputs: [string, number, (number | string)[]][],
  outputs: [string, number, (number | string)[]][],
  seed = 1,
): Uint8Array {
  const graph = new WireWriter();
  for (const n of nodes) graph.messageField(1, node(n));
  graph.stringField(2, 'g');
  initializers.forEach(([name, dims], k) => graph.messageField(5, tensor(name, dims, randomFloats(dims.reduce((a, b) => a * b, 1), seed + k))));
  for (const [n, t, d] of inputs) graph.messageField(11, valueInfo(n, t, d));
  for (const [n, t, d] of outputs) graph.messageField(12, valueInfo(n, t, d));
  return new WireWriter()
    .varintField(1, 8)
    .messageField(8, new WireWriter().stringField(1, '').varintField(2, 17))
    .messageField(7, graph)
    .finish();
}

/** x [b, 3] → MatMul W1 [3, 5] → Add b1 → Relu → Gemm(W2 [2, 5], b2, transB=1) → y [b, 2]. */
function mlp(): Uint8Array {
  return buildModel(
    [
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] },
      { op: 'Add', inputs: ['b1', 'h'], outputs: ['hb'] },
      { op: 'Relu', inputs: ['hb'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'W2', 'b2'], outputs: ['y'], ints: { transB: 1 }, floats: { alpha: 1, beta: 1 } },
    ],
    [
      ['W1', [3, 5]],
      ['b1', [5]],
      ['W2', [2, 5]],
      ['b2', [2]],
    ],
    [['x', ONNX_FLOAT, ['batch', 3]]],
    [['y', ONNX_FLOAT, ['batch', 2]]],
  );
}

describe('readNodeScalarAttributes', () => {
  it('reads int and float attributes in node order', () => {
    const attrs = readNodeScalarAttributes(mlp());
    expect(attrs).toHaveLength(4);
    expect(attrs[0]!.size).toBe(0);
    expect(Object.fromEntries(attrs[3]!)).toEqual({ transB: 1, alpha: 1, beta: 1 });
  });

  it('names the file on malformed bytes', () => {
    const bytes = mlp();
    expect(() => readNodeScalarAttributes(bytes.subarray(0, bytes.length - 7), 'cut.onnx')).toThrow(/^cut\.onnx: /);
  });
});

describe('findLinearLayers', () => {
  it('finds MatMul (in-out) with its Add bias and Gemm transB=1 (out-in) with its C bias', () => {
    const layers = findLinearLayers(mlp());
    expect(layers).toEqual([
      { weightName: 'W1', inputName: 'x', layout: 'in-out', inDim: 3, outDim: 5, biasName: 'b1', opType: 'MatMul', nodeIndex: 0 },
      { weightName: 'W2', inputName: 'r', layout: 'out-in', inDim: 5, outDim: 2, biasName: 'b2', opType: 'Gemm', nodeIndex: 3 },
    ]);
  });

  it('reads Gemm transB = 0 as in-out, skips transA = 1, tied weights, constant operands and mismatched biases', () => {
    const bytes = buildModel(
      [
        { op: 'Gemm', inputs: ['x', 'G0', 'c0'], outputs: ['g0'] }, // transB absent = 0
        { op: 'Gemm', inputs: ['x', 'G1'], outputs: ['g1'], ints: { transA: 1 } },
        { op: 'MatMul', inputs: ['x', 'T'], outputs: ['t1'] },
        { op: 'MatMul', inputs: ['x', 'T'], outputs: ['t2'] }, // T is used twice: tied
        { op: 'MatMul', inputs: ['K', 'M'], outputs: ['k'] }, // both operands constant
        { op: 'MatMul', inputs: ['x', 'N'], outputs: ['n'] },
        { op: 'Add', inputs: ['n', 'wrongBias'], outputs: ['nb'] }, // length 4, out is 6
        { op: 'MatMul', inputs: ['x', 'P'], outputs: ['p'] },
        { op: 'Add', inputs: ['p', 'pb'], outputs: ['pb1'] },
        { op: 'Relu', inputs: ['p'], outputs: ['pr'] }, // second consumer of p: bias not "directly attached"
      ],
      [
        ['G0', [3, 7]],
        ['c0', [7]],
        ['G1', [3, 7]],
        ['T', [3, 3]],
        ['K', [2, 3]],
        ['M', [3, 3]],
        ['N', [3, 6]],
        ['wrongBias', [4]],
        ['P', [3, 2]],
        ['pb', [2]],
      ],
      [['x', ONNX_FLOAT, [2, 3]]],
      [['g0', ONNX_FLOAT, [2, 7]]],
    );
    const layers = findLinearLayers(bytes);
    expect(layers.map((l) => [l.weightName, l.layout, l.inDim, l.outDim, l.biasName])).toEqual([
      ['G0', 'in-out', 3, 7, 'c0'],
      ['N', 'in-out', 3, 6, undefined],
      ['P', 'in-out', 3, 2, undefined],
    ]);
  });

  it('rejects a parsed model that does not belong to the bytes', () => {
    const other = readOnnx(mlp(), 'mlp.onnx');
    other.nodes.pop();
    expect(() => findLinearLayers(mlp(), other, 'mlp.onnx')).toThrow(/^mlp\.onnx: the model has 3 nodes but its bytes hold 4/);
  });

  it.skipIf(!existsSync(TINY))('finds the linear layers of the tiny torch export', () => {
    const layers = findLinearLayers(new Uint8Array(readFileSync(TINY)));
    expect(layers.map((l) => [l.weightName, l.layout, l.inDim, l.outDim, l.biasName])).toEqual([
      ['onnx::MatMul_46', 'in-out', 8, 12, 'ff.bias'],
      ['head.weight', 'out-in', 12, 3, 'head.bias'],
    ]);
  });

  it.skipIf(!existsSync(EXPERT_A))('finds the 12 MatMul weights and the Gemm head of the sample transformer', () => {
    const bytes = new Uint8Array(readFileSync(EXPERT_A));
    const layers = findLinearLayers(bytes, readOnnx(bytes, 'expert-a.onnx'));
    expect(layers).toHaveLength(13);
    const matmuls = layers.filter((l) => l.opType === 'MatMul');
    expect(matmuls).toHaveLength(12);
    for (const l of matmuls) {
      expect(l.weightName).toMatch(/^onnx::MatMul_\d+$/);
      expect(l.layout).toBe('in-out');
      expect(l.biasName).toMatch(/^layers\.[01]\.(attn\.[qkvo]|ff[12])\.bias$/);
    }
    expect(matmuls.map((l) => `${l.inDim}x${l.outDim}`).sort()).toEqual([...Array(8).fill('48x48'), '48x96', '48x96', '96x48', '96x48'].sort());
    // q, k and v of a block read the same LayerNorm output.
    expect(new Set(matmuls.map((l) => l.inputName)).size).toBe(8);
    expect(layers[12]).toMatchObject({ weightName: 'head.weight', layout: 'out-in', inDim: 48, outDim: 2, biasName: 'head.bias', opType: 'Gemm' });
  });
});

describe('addGraphOutputs', () => {
  it('appends FLOAT outputs after the existing ones and keeps everything else', () => {
    const bytes = mlp();
    const out = addGraphOutputs(bytes, ['hb', 'r', 'hb']);
    const before = readOnnx(bytes, 'mlp.onnx');
    const after = readOnnx(out, 'mlp.onnx');
    expect(after.outputs.map((o) => o.name)).toEqual(['y', 'hb', 'r']);
    expect(after.outputs[1]).toEqual({ name: 'hb', elemType: ONNX_FLOAT, dims: [] });
    expect(after.nodes).toEqual(before.nodes);
    expect(after.inputs).toEqual(before.inputs);
    expect(after.initializers).toEqual(before.initializers);
    // An existing output is not duplicated; no names means an identical model.
    expect(readOnnx(addGraphOutputs(bytes, ['y', 'r']), 'm').outputs.map((o) => o.name)).toEqual(['y', 'r']);
    expect(addGraphOutputs(bytes, [])).toEqual(bytes);
  });

  it('throws OnnxFormatError naming the file and the tensors no node produces', () => {
    expect(() => addGraphOutputs(mlp(), ['r', 'nope', 'W1'], 'mlp.onnx')).toThrow(OnnxFormatError);
    expect(() => addGraphOutputs(mlp(), ['r', 'nope', 'W1'], 'mlp.onnx')).toThrow(/^mlp\.onnx: no node produces "nope", "W1"/);
  });

  it('onnxruntime returns the added intermediates with their values', async () => {
    const bytes = mlp();
    const model = readOnnx(bytes, 'mlp.onnx');
    const get = (name: string) => model.initializers.find((t) => t.name === name)!.floats!;
    const session = await ort.InferenceSession.create(addGraphOutputs(bytes, ['hb', 'r']), { executionProviders: ['wasm'] });
    const x = randomFloats(4 * 3, 5);
    const out = await session.run({ x: new ort.Tensor('float32', x, [4, 3]) });
    expect(out.hb!.dims).toEqual([4, 5]);
    const W1 = get('W1');
    const b1 = get('b1');
    const hb = out.hb!.data as Float32Array;
    const r = out.r!.data as Float32Array;
    for (let i = 0; i < 4; i++) {
      for (let o = 0; o < 5; o++) {
        let s = b1[o]!;
        for (let k = 0; k < 3; k++) s += x[i * 3 + k]! * W1[k * 5 + o]!;
        expect(hb[i * 5 + o]).toBeCloseTo(s, 5);
        expect(r[i * 5 + o]).toBeCloseTo(Math.max(0, s), 5);
      }
    }
    await session.release();
  });

  it.skipIf(!existsSync(EXPERT_A))('the sample transformer outputs every linear-layer input with its shape, logits unchanged', async () => {
    const bytes = new Uint8Array(readFileSync(EXPERT_A));
    const layers = findLinearLayers(bytes);
    const names = [...new Set(layers.map((l) => l.inputName))];
    const rewritten = addGraphOutputs(bytes, names, 'expert-a.onnx');
    const batch = 3;
    const L = 64;
    const rand = mulberry32(77);
    const ids = BigInt64Array.from({ length: batch * L }, (_, k) => (k % L < 20 + Math.floor(k / L) * 10 ? BigInt(2 + Math.floor(rand() * 3000)) : 0n));
    const mask = BigInt64Array.from(ids, (v) => (v !== 0n ? 1n : 0n));
    const feeds = { input_ids: new ort.Tensor('int64', ids, [batch, L]), attention_mask: new ort.Tensor('int64', mask, [batch, L]) };

    const plain = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const capture = await ort.InferenceSession.create(rewritten, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    expect(capture.outputNames).toEqual(['logits', ...names]);
    const a = await plain.run(feeds);
    const b = await capture.run(feeds);
    const la = a.logits!.data as Float32Array;
    const lb = b.logits!.data as Float32Array;
    for (let i = 0; i < la.length; i++) expect(lb[i]).toBeCloseTo(la[i]!, 4);
    for (const l of layers) {
      const t = b[l.inputName]!;
      expect(t.type).toBe('float32');
      if (l.opType === 'MatMul') expect(t.dims).toEqual([batch, L, l.inDim]);
      else expect(t.dims).toEqual([batch, l.inDim]);
      expect((t.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
    expect(layers.filter((l) => l.opType === 'MatMul').map((l) => b[l.inputName]!.dims[2]).sort()).toEqual([...Array(10).fill(48), 96, 96]);
    await plain.release();
    await capture.release();
  });
});
