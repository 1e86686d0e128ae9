import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError, ProtobufWireError } from './errors';
import {
  ONNX_FLOAT,
  ONNX_INT64,
  architectureSignature,
  describeArchitectureDifference,
  readOnnx,
  sniffOnnx,
  weightsToInputs,
  type OnnxModel,
} from './onnx';
import { WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, WireWriter, readFields, readVarint } from './onnx-wire';
import { mulberry32, randomFloats } from '../testing/seeded';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

// ---------------------------------------------------------------- model builder

interface TensorSpec {
  name: string;
  dims: number[];
  dataType?: number;
  floats?: Float32Array;
  /** How FLOAT values are stored. */
  via?: 'raw' | 'float_data' | 'float_data_unpacked';
  int64?: number[];
  external?: boolean;
  unpackedDims?: boolean;
}

function tensorProto(t: TensorSpec): WireWriter {
  const w = new WireWriter();
  if (t.unpackedDims) for (const d of t.dims) w.varintField(1, d);
  else w.packedVarints(1, t.dims);
  w.varintField(2, t.dataType ?? ONNX_FLOAT);
  w.stringField(8, t.name);
  if (t.external) {
    w.messageField(13, new WireWriter().stringField(1, 'location').stringField(2, 'weights.bin'));
    w.messageField(13, new WireWriter().stringField(1, 'offset').stringField(2, '0'));
    w.varintField(14, 1);
  } else if (t.floats) {
    if (t.via === 'float_data') w.packedFloats(4, t.floats);
    else if (t.via === 'float_data_unpacked') for (const f of t.floats) w.floatField(4, f);
    else w.bytesField(9, new Uint8Array(t.floats.slice().buffer));
  } else if (t.int64) {
    w.packedVarints(7, t.int64);
  }
  return w;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) shape.messageField(1, typeof d === 'number' ? new WireWriter().varintField(1, d) : new WireWriter().stringField(2, d));
  const tensorType = new WireWriter().varintField(1, elemType).messageField(2, shape);
  return new WireWriter().stringField(1, name).messageField(2, new WireWriter().messageField(1, tensorType)).stringField(3, `doc of ${name}`);
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  /** AttributeProto int attributes. */
  ints?: Record<string, number>;
}

function nodeProto(n: NodeSpec, index: number): WireWriter {
  const w = new WireWriter();
  for (const i of n.inputs) w.stringField(1, i);
  for (const o of n.outputs) w.stringField(2, o);
  w.stringField(3, `${n.op}_${index}`).stringField(4, n.op);
  for (const [k, v] of Object.entries(n.ints ?? {})) {
    w.messageField(5, new WireWriter().stringField(1, k).varintField(20, 2).varintField(3, v));
  }
  if (n.domain !== undefined) w.stringField(7, n.domain);
  w.stringField(6, 'node doc');
  return w;
}

interface ModelSpec {
  ir?: number;
  opset?: number;
  producer?: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: [string, number, (number | string)[]][];
  outputs: [string, number, (number | string)[]][];
  /** Extra bytes appended inside GraphProto, e.g. unknown fields. */
  graphTail?: Uint8Array;
}

function buildModel(m: ModelSpec): Uint8Array {
  const graph = new WireWriter();
  m.nodes.forEach((n, i) => graph.messageField(1, nodeProto(n, i)));
  graph.stringField(2, 'test-graph');
  for (const t of m.initializers) graph.messageField(5, tensorProto(t));
  graph.stringField(10, 'graph doc');
  for (const [n, t, d] of m.inputs) graph.messageField(11, valueInfo(n, t, d));
  for (const [n, t, d] of m.outputs) graph.messageField(12, valueInfo(n, t, d));
  if (m.graphTail) graph.raw(m.graphTail);
  const model = new WireWriter()
    .varintField(1, m.ir ?? 8)
    .stringField(2, m.producer ?? 'onnx-test')
    .stringField(3, '0.1')
    .messageField(8, new WireWriter().stringField(1, '').varintField(2, m.opset ?? 17))
    .messageField(8, new WireWriter().stringField(1, 'com.microsoft').varintField(2, 1))
    .messageField(7, graph)
    .messageField(14, new WireWriter().stringField(1, 'author').stringField(2, 'tests'));
  return model.finish();
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const W = randomFloats(12, 11); // [3, 4], raw_data
const B = randomFloats(4, 12); // [4], float_data
// An unknown GraphProto field (number 99, LEN) that a rewrite must carry over verbatim.
const UNKNOWN_FIELD = new WireWriter().bytesField(99, new TextEncoder().encode('future-field-payload')).finish();

function matmulAddSpec(w: Float32Array = W, b: Float32Array = B, producer = 'onnx-test'): ModelSpec {
  return {
    producer,
    nodes: [
      { op: 'MatMul', inputs: ['X', 'W'], outputs: ['H'] },
      { op: 'Add', inputs: ['H', 'B'], outputs: ['Y'] },
    ],
    initializers: [
      { name: 'W', dims: [3, 4], floats: w, via: 'raw' },
      { name: 'B', dims: [4], floats: b, via: 'float_data' },
    ],
    inputs: [['X', ONNX_FLOAT, ['batch', 3]]],
    outputs: [['Y', ONNX_FLOAT, ['batch', 4]]],
    graphTail: UNKNOWN_FIELD,
  };
}

/** The MatMul + Add model with W's raw_data payload at an odd byte offset. */
function matmulAddModel(): Uint8Array {
  for (const producer of ['onnx-test', 'onnx-test!']) {
    const bytes = buildModel(matmulAddSpec(W, B, producer));
    if (indexOfBytes(bytes, new Uint8Array(W.buffer)) % 2 === 1) return bytes;
  }
  throw new Error('could not place raw_data at an odd offset');
}

function expectOnnxError(fn: () => unknown, pattern: RegExp, fileName = 'model.onnx'): OnnxFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OnnxFormatError);
  const err = caught as OnnxFormatError;
  expect(err.name).toBe('OnnxFormatError');
  expect(err.fileName).toBe(fileName);
  expect(err.message.startsWith(`${fileName}: `)).toBe(true);
  expect(err.message).toMatch(pattern);
  return err;
}

async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------- wire format

describe('onnx-wire', () => {
  it('round-trips varints up to 2^53 and negative int64', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -1, -2, -(2 ** 40)];
    const w = new WireWriter();
    values.forEach((v, i) => w.varintField(i + 1, v));
    const fields = [...readFields(w.finish())];
    expect(fields.map((f) => f.num)).toEqual(values.map((_, i) => i + 1));
    expect(fields.every((f) => f.type === WIRE_VARINT)).toBe(true);
    values.forEach((v, i) => expect(fields[i]!.signed, `value ${v}`).toBe(v));
    expect(fields[8]!.value).toBe(2 ** 64); // -1 as uint64, rounded to the nearest double
    expect(readVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), 0)).toEqual([2 ** 53 - 1, 8]);
  });

  it('reads fixed32/fixed64 and LEN fields as ranges', () => {
    const w = new WireWriter().floatField(3, 1.5).tag(4, 1).raw(new Uint8Array(8).fill(7)).stringField(5, 'héllo');
    const bytes = w.finish();
    const [f32, f64, len] = [...readFields(bytes)];
    expect(f32!.type).toBe(WIRE_FIXED32);
    expect(new DataView(bytes.buffer).getFloat32(f32!.start, true)).toBe(1.5);
    expect(f64!.end - f64!.start).toBe(8);
    expect(len!.type).toBe(WIRE_LEN);
    expect(new TextDecoder().decode(bytes.subarray(len!.start, len!.end))).toBe('héllo');
  });

  it('rejects truncation, overlong varints, groups and field 0', () => {
    const bytes = new WireWriter().stringField(1, 'abcdef').finish();
    expect(() => [...readFields(bytes.subarray(0, 5))]).toThrow(/truncated protobuf at byte 0/);
    expect(() => [...readFields(new Uint8Array([0x08]))]).toThrow(/truncated protobuf at byte 1/);
    expect(() => [...readFields(new Uint8Array([0x0d, 1, 2]))]).toThrow(ProtobufWireError);
    expect(() => [...readFields(new Uint8Array([0x08, ...new Array(10).fill(0x80), 1]))]).toThrow(/longer than 10 bytes/);
    expect(() => [...readFields(new Uint8Array([0x0b]))]).toThrow(/wire type 3/);
    expect(() => [...readFields(new Uint8Array([0x00, 0x01]))]).toThrow(/field number 0/);
    // A length larger than 2^32 must not be trusted.
    expect(() => [...readFields(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1]))]).toThrow(/claims/);
  });
});

// ---------------------------------------------------------------- readOnnx

describe('readOnnx', () => {
  const bytes = matmulAddModel();

  it('reads versions, graph inputs/outputs, nodes and initializer values', () => {
    const m = readOnnx(bytes, 'model.onnx');
    expect(m.irVersion).toBe(8);
    expect(m.opsetVersion).toBe(17);
    expect(m.inputs).toEqual([{ name: 'X', elemType: ONNX_FLOAT, dims: ['batch', 3] }]);
    expect(m.outputs).toEqual([{ name: 'Y', elemType: ONNX_FLOAT, dims: ['batch', 4] }]);
    expect(m.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([
      ['MatMul', ['X', 'W'], ['H']],
      ['Add', ['H', 'B'], ['Y']],
    ]);
    const [w, b] = m.initializers;
    expect(w).toMatchObject({ name: 'W', dataType: ONNX_FLOAT, dims: [3, 4], byteLength: 48, external: false });
    expect(b).toMatchObject({ name: 'B', dataType: ONNX_FLOAT, dims: [4], byteLength: 16, external: false });
    expect(w!.floats).toEqual(W);
    expect(b!.floats).toEqual(B);
    // Values are copies with their own aligned buffers, not views of the model.
    expect(w!.floats!.buffer).not.toBe(bytes.buffer);
    expect(w!.floats!.byteOffset % 4).toBe(0);
  });

  it('reads unpacked dims and unpacked float_data, non-float and external initializers', () => {
    const vals = randomFloats(6, 99);
    const m = readOnnx(
      buildModel({
        ir: 7,
        opset: 13,
        nodes: [{ op: 'Reshape', inputs: ['X', 'shape'], outputs: ['Y'] }],
        initializers: [
          { name: 'u', dims: [2, 3], floats: vals, via: 'float_data_unpacked', unpackedDims: true },
          { name: 'shape', dims: [2], dataType: ONNX_INT64, int64: [-1, 6] },
          { name: 'ext', dims: [1000, 1000], external: true },
          { name: 'scalar', dims: [], floats: new Float32Array([3.25]), via: 'raw' },
          { name: 'empty', dims: [0, 4], floats: new Float32Array(0), via: 'raw' },
        ],
        inputs: [['X', ONNX_FLOAT, [2, 3]]],
        outputs: [['Y', ONNX_FLOAT, [6]]],
      }),
      'misc.onnx',
    );
    expect(m.irVersion).toBe(7);
    expect(m.opsetVersion).toBe(13);
    const byName = new Map(m.initializers.map((t) => [t.name, t]));
    expect(byName.get('u')).toMatchObject({ dims: [2, 3], floats: vals });
    expect(byName.get('shape')).toMatchObject({ dataType: ONNX_INT64, dims: [2], floats: null, byteLength: 16, external: false });
    expect(byName.get('ext')).toMatchObject({ dataType: ONNX_FLOAT, dims: [1000, 1000], floats: null, byteLength: 4e6, external: true });
    expect(byName.get('scalar')!.floats).toEqual(new Float32Array([3.25]));
    expect(byName.get('empty')!.floats).toEqual(new Float32Array(0));
  });

  it('throws OnnxFormatError on every truncation of a valid model', () => {
    // Protobuf cannot tell a cut between two top-level fields after the graph from a
    // shorter model; every other cut must fail.
    const fields = [...readFields(bytes)];
    const graphEnd = fields.find((f) => f.num === 7)!.end;
    const validCuts = new Set(fields.map((f) => f.end).filter((end) => end >= graphEnd));
    expect(validCuts.size).toBeGreaterThan(0);
    for (let cut = 1; cut < bytes.length; cut++) {
      if (validCuts.has(cut)) {
        expect(readOnnx(bytes.subarray(0, cut), 'model.onnx').initializers).toHaveLength(2);
        continue;
      }
      let caught: unknown;
      try {
        readOnnx(bytes.subarray(0, cut), 'model.onnx');
      } catch (e) {
        caught = e;
      }
      // A cut exactly between top-level fields before the graph leaves a valid model with no graph.
      expect(caught, `cut at ${cut}`).toBeInstanceOf(OnnxFormatError);
      expect((caught as Error).message).toMatch(/^model\.onnx: (truncated protobuf at byte \d+|no graph)/);
    }
  });

  it('throws OnnxFormatError on garbage and on empty input', () => {
    const r = mulberry32(5);
    for (let i = 0; i < 50; i++) {
      const junk = Uint8Array.from({ length: 200 }, () => Math.floor(r() * 256));
      expectOnnxError(() => readOnnx(junk, 'junk.onnx'), /./, 'junk.onnx');
    }
    expectOnnxError(() => readOnnx(new TextEncoder().encode('{"not": "onnx"}'), 'x.onnx'), /wire type|truncated/, 'x.onnx');
    expectOnnxError(() => readOnnx(new Uint8Array(0), 'model.onnx'), /^model\.onnx: no graph$/);
  });

  it('rejects initializers whose data do not match their dims', () => {
    const spec = matmulAddSpec();
    spec.initializers[0] = { name: 'W', dims: [3, 5], floats: W, via: 'raw' };
    expectOnnxError(() => readOnnx(buildModel(spec), 'model.onnx'), /initializer "W" raw_data has 48 bytes but FLOAT × \[3, 5\] needs 60/);
    spec.initializers[0] = { name: 'W', dims: [3, 5], floats: W, via: 'float_data' };
    expectOnnxError(() => readOnnx(buildModel(spec), 'model.onnx'), /initializer "W" float_data has 12 values but dims \[3, 5\] need 15/);
  });
});

describe('sniffOnnx', () => {
  it('accepts ONNX heads and rejects other formats', () => {
    const bytes = matmulAddModel();
    expect(sniffOnnx(bytes)).toBe(true);
    expect(sniffOnnx(bytes.subarray(0, 12))).toBe(true);
    expect(sniffOnnx(new TextEncoder().encode('{"a": 1}\n'))).toBe(false);
    expect(sniffOnnx(new TextEncoder().encode('hello world'))).toBe(false);
    const st = new Uint8Array(16);
    st[0] = 8;
    st[8] = 0x7b;
    expect(sniffOnnx(st)).toBe(false); // safetensors header (ir_version 0 is not plausible)
    expect(sniffOnnx(new Uint8Array(0))).toBe(false);
  });
});

// ---------------------------------------------------------------- weightsToInputs

describe('weightsToInputs', () => {
  const bytes = matmulAddModel();

  it('moves the named initializers to graph inputs and keeps everything else', () => {
    const out = weightsToInputs(bytes, new Set(['W', 'B']));
    const m = readOnnx(out, 'moved.onnx');
    expect(m.initializers).toEqual([]);
    expect(m.inputs).toEqual([
      { name: 'X', elemType: ONNX_FLOAT, dims: ['batch', 3] },
      { name: 'W', elemType: ONNX_FLOAT, dims: [3, 4] },
      { name: 'B', elemType: ONNX_FLOAT, dims: [4] },
    ]);
    const before = readOnnx(bytes, 'model.onnx');
    expect(m.nodes).toEqual(before.nodes);
    expect(m.outputs).toEqual(before.outputs);
    expect(m.irVersion).toBe(before.irVersion);
    expect(m.opsetVersion).toBe(before.opsetVersion);
    // Unknown fields, docs, metadata and node names survive byte for byte.
    for (const s of ['future-field-payload', 'graph doc', 'node doc', 'MatMul_0', 'doc of X', 'com.microsoft', 'author']) {
      expect(indexOfBytes(out, new TextEncoder().encode(s)), s).toBeGreaterThanOrEqual(0);
    }
    expect(indexOfBytes(out, UNKNOWN_FIELD)).toBeGreaterThanOrEqual(0);
    expect(out.length).toBeLessThan(bytes.length);
  });

  it('moves only the named ones', () => {
    const m = readOnnx(weightsToInputs(bytes, new Set(['B'])), 'moved.onnx');
    expect(m.initializers.map((t) => t.name)).toEqual(['W']);
    expect(m.initializers[0]!.floats).toEqual(W);
    expect(m.inputs.map((v) => v.name)).toEqual(['X', 'B']);
    expect(weightsToInputs(bytes, new Set())).toEqual(bytes);
  });

  it('does not duplicate an initializer that is already a graph input (IR < 4 style)', () => {
    const spec = matmulAddSpec();
    spec.inputs.push(['W', ONNX_FLOAT, [3, 4]]);
    const m = readOnnx(weightsToInputs(buildModel(spec), new Set(['W', 'B'])), 'old.onnx');
    expect(m.inputs.map((v) => v.name)).toEqual(['X', 'W', 'B']);
  });

  it('appends inputs when the graph has none', () => {
    const spec = matmulAddSpec();
    spec.inputs = [];
    const m = readOnnx(weightsToInputs(buildModel(spec), new Set(['W'])), 'noinputs.onnx');
    expect(m.inputs).toEqual([{ name: 'W', elemType: ONNX_FLOAT, dims: [3, 4] }]);
  });

  it('rejects unknown names and non-float initializers', () => {
    expectOnnxError(() => weightsToInputs(bytes, new Set(['W', 'nope']), 'expert-a.onnx'), /no initializer named "nope"/, 'expert-a.onnx');
    const spec = matmulAddSpec();
    spec.initializers.push({ name: 'shape', dims: [2], dataType: ONNX_INT64, int64: [2, 2] });
    expectOnnxError(() => weightsToInputs(buildModel(spec), new Set(['shape'])), /"shape" is INT64; only FLOAT/);
    expectOnnxError(() => weightsToInputs(bytes.subarray(0, bytes.length - 9), new Set(['W'])), /truncated protobuf/);
  });

  it('gives the same outputs in onnxruntime-web when the weights are fed as inputs', async () => {
    const x = randomFloats(5 * 3, 77);
    const feeds = { X: new ort.Tensor('float32', x, [5, 3]) };
    const original = (await runModel(bytes, feeds)).Y!;
    const moved = weightsToInputs(bytes, new Set(['W', 'B']));
    const fed = (
      await runModel(moved, {
        ...feeds,
        W: new ort.Tensor('float32', W, [3, 4]),
        B: new ort.Tensor('float32', B, [4]),
      })
    ).Y!;
    expect(original.dims).toEqual([5, 4]);
    expect(fed.dims).toEqual([5, 4]);
    expect(fed.data).toEqual(original.data);
    // And both equal X·W + B computed here, so the values we read are the ones ORT uses.
    const y = original.data as Float32Array;
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 4; j++) {
        let s = B[j]!;
        for (let k = 0; k < 3; k++) s += x[i * 3 + k]! * W[k * 4 + j]!;
        expect(y[i * 4 + j]).toBeCloseTo(s, 5);
      }
    }
    // Different fed weights change the result without rebuilding the model.
    const W2 = randomFloats(12, 13);
    const other = (await runModel(moved, { ...feeds, W: new ort.Tensor('float32', W2, [3, 4]), B: new ort.Tensor('float32', B, [4]) })).Y!;
    expect(other.data).not.toEqual(original.data);
  });
});

// ---------------------------------------------------------------- architecture

describe('architectureSignature / describeArchitectureDifference', () => {
  const a = { fileName: 'expert-a.onnx', model: readOnnx(buildModel(matmulAddSpec()), 'expert-a.onnx') };
  const variant = (edit: (s: ModelSpec) => void): { fileName: string; model: OnnxModel } => {
    const spec = matmulAddSpec(randomFloats(12, 200), randomFloats(4, 201));
    edit(spec);
    return { fileName: 'expert-b.onnx', model: readOnnx(buildModel(spec), 'expert-b.onnx') };
  };

  it('is shared by checkpoints that differ only in weight values', () => {
    const b = variant(() => {});
    expect(b.model.initializers[0]!.floats).not.toEqual(a.model.initializers[0]!.floats);
    expect(architectureSignature(b.model)).toBe(architectureSignature(a.model));
    expect(architectureSignature(a.model)).toMatch(/^onnx-arch-v1:2n:2i:[0-9a-f]{32}$/);
    expect(describeArchitectureDifference(a, b)).toBeNull();
    // Storage form (raw_data vs float_data) and initializer order do not matter either.
    const c = variant((s) => {
      s.initializers = [
        { ...s.initializers[1]!, via: 'raw' },
        { ...s.initializers[0]!, via: 'float_data' },
      ];
    });
    expect(describeArchitectureDifference(a, c)).toBeNull();
  });

  it('explains initializer shape differences', () => {
    const b = variant((s) => {
      s.initializers[0] = { name: 'W', dims: [4, 3], floats: randomFloats(12, 3), via: 'raw' };
    });
    expect(architectureSignature(b.model)).not.toBe(architectureSignature(a.model));
    expect(describeArchitectureDifference(a, b)).toBe('expert-b.onnx: initializer "W" has shape [4, 3], expert-a.onnx has [3, 4]');
  });

  it('explains extra and missing initializers', () => {
    const b = variant((s) => {
      s.initializers.push({ name: 'onnx::MatMul_123', dims: [2], floats: randomFloats(2, 4), via: 'raw' });
    });
    expect(describeArchitectureDifference(a, b)).toBe('expert-b.onnx has 3 initializers, expert-a.onnx has 2 (extra: "onnx::MatMul_123")');
    expect(describeArchitectureDifference(b, a)).toBe('expert-a.onnx has 2 initializers, expert-b.onnx has 3 (missing: "onnx::MatMul_123")');
  });

  it('explains node differences', () => {
    const gemm = variant((s) => {
      s.nodes[1] = { op: 'Sub', inputs: ['H', 'B'], outputs: ['Y'] };
    });
    expect(describeArchitectureDifference(a, gemm)).toBe('expert-b.onnx: node 1 is Sub, expert-a.onnx has Add');
    const rewired = variant((s) => {
      s.nodes[1] = { op: 'Add', inputs: ['B', 'H'], outputs: ['Y'] };
    });
    expect(describeArchitectureDifference(a, rewired)).toBe('expert-b.onnx: node 1 (Add) reads [B, H], expert-a.onnx reads [H, B]');
    const attrs = variant((s) => {
      s.nodes[0] = { ...s.nodes[0]!, ints: { transB: 1 } };
    });
    expect(describeArchitectureDifference(a, attrs)).toBe('expert-b.onnx: node 0 (MatMul) has different attributes from expert-a.onnx');
    const longer = variant((s) => {
      s.nodes.push({ op: 'Relu', inputs: ['Y'], outputs: ['Z'] });
    });
    expect(describeArchitectureDifference(a, longer)).toBe('expert-b.onnx has 3 nodes, expert-a.onnx has 2 (the first 2 match)');
  });

  it('explains opset and graph input differences', () => {
    expect(describeArchitectureDifference(a, variant((s) => (s.opset = 18)))).toBe('expert-b.onnx uses opset 18, expert-a.onnx uses opset 17');
    expect(describeArchitectureDifference(a, variant((s) => (s.inputs = [['X', ONNX_FLOAT, [1, 3]]])))).toBe(
      'expert-b.onnx: input "X" has shape [1, 3], expert-a.onnx has [batch, 3]',
    );
    expect(describeArchitectureDifference(a, variant((s) => (s.inputs = [['X2', ONNX_FLOAT, ['batch', 3]]])))).toBe(
      'expert-b.onnx has 1 graph inputs, expert-a.onnx has 1 (extra: "X2"; missing: "X")',
    );
    expect(describeArchitectureDifference(a, variant((s) => (s.outputs = [['Y', ONNX_INT64, ['batch', 4]]])))).toBe(
      'expert-b.onnx: output "Y" is INT64, expert-a.onnx has FLOAT',
    );
  });
});

// ---------------------------------------------------------------- real exports

/** Files exported by torch.onnx.export, checked in under fixtures/ (see fixtures.json). */
const FIXTURES = join(__dirname, 'fixtures');
const fixtureManifest = join(FIXTURES, 'fixtures.json');

interface OnnxFixture {
  file: string;
  format: string;
  reason: string;
  assert: {
    irVersion?: number;
    opsetVersion?: number;
    inputs?: string[];
    outputs?: string[];
    floatInitializers?: number;
    matmulInitializers?: number;
    externalInitializers?: number;
    /** name → [first value, sum of values] of a float initializer, read by the onnx package */
    values?: Record<string, [number, number]>;
    nodes?: number;
    /** One input row and the logits torch computed for it. */
    run?: { input_ids: number[]; attention_mask: number[]; logits: number[] };
  };
}

describe.skipIf(!existsSync(fixtureManifest))('fixtures exported by torch', () => {
  const manifest = existsSync(fixtureManifest) ? (JSON.parse(readFileSync(fixtureManifest, 'utf8')) as OnnxFixture[]) : [];
  const load = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, file)));
  const rowFeeds = (run: NonNullable<OnnxFixture['assert']['run']>): Record<string, ort.Tensor> => ({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(run.input_ids.map(BigInt)), [1, run.input_ids.length]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(run.attention_mask.map(BigInt)), [1, run.attention_mask.length]),
  });

  for (const fx of manifest.filter((f) => f.format === 'onnx')) {
    it(`${fx.file}: ${fx.reason}`, () => {
      const m = readOnnx(load(fx.file), fx.file);
      const a = fx.assert;
      if (a.nodes !== undefined) expect(m.nodes).toHaveLength(a.nodes);
      if (a.irVersion !== undefined) expect(m.irVersion).toBe(a.irVersion);
      if (a.opsetVersion !== undefined) expect(m.opsetVersion).toBe(a.opsetVersion);
      if (a.inputs) expect(m.inputs.map((v) => v.name)).toEqual(a.inputs);
      if (a.outputs) expect(m.outputs.map((v) => v.name)).toEqual(a.outputs);
      if (a.floatInitializers !== undefined) expect(m.initializers.filter((t) => t.floats).length).toBe(a.floatInitializers);
      if (a.matmulInitializers !== undefined) {
        expect(m.initializers.filter((t) => t.name.startsWith('onnx::MatMul_')).length).toBe(a.matmulInitializers);
      }
      if (a.externalInitializers !== undefined) expect(m.initializers.filter((t) => t.external).length).toBe(a.externalInitializers);
      for (const [name, [first, sum]] of Object.entries(a.values ?? {})) {
        const t = m.initializers.find((i) => i.name === name)!;
        expect(t.floats![0]).toBeCloseTo(first, 6);
        expect(t.floats!.reduce((s, v) => s + v, 0)).toBeCloseTo(sum, 3);
      }
    });
  }

  const embedded = manifest.find((f) => f.file === 'tiny-classifier.onnx');
  it.skipIf(!embedded)('torch logits match ORT on the original, the weight-fed and the external-data model', async () => {
    const run = embedded!.assert.run!;
    const bytes = load('tiny-classifier.onnx');
    const model = readOnnx(bytes, 'tiny-classifier.onnx');
    const original = (await runModel(bytes, rowFeeds(run))).logits!;
    Array.from(original.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(run.logits[i]!, 5));

    const floats = model.initializers.filter((t) => t.floats);
    const weightFeeds = Object.fromEntries(floats.map((t) => [t.name, new ort.Tensor('float32', t.floats!, t.dims)]));
    const moved = weightsToInputs(bytes, new Set(floats.map((t) => t.name)), 'tiny-classifier.onnx');
    const fed = (await runModel(moved, { ...rowFeeds(run), ...weightFeeds })).logits!;
    expect(fed.data).toEqual(original.data);

    // External weights need no .data file once they are graph inputs fed from elsewhere.
    const external = load('tiny-external.onnx');
    const ext = readOnnx(external, 'tiny-external.onnx');
    expect(architectureSignature(ext)).toBe(architectureSignature(model));
    const movedExternal = weightsToInputs(external, new Set(ext.initializers.filter((t) => t.dataType === ONNX_FLOAT).map((t) => t.name)));
    const fedExternal = (await runModel(movedExternal, { ...rowFeeds(run), ...weightFeeds })).logits!;
    expect(fedExternal.data).toEqual(original.data);
  });
});

// Real checkpoints exported by tools/fixtures into public/samples (generated separately).
const SAMPLES = join(__dirname, '..', '..', 'public', 'samples');
const sampleFiles = existsSync(SAMPLES) ? readdirSync(SAMPLES).filter((f) => f.endsWith('.onnx')).sort() : [];

describe.skipIf(sampleFiles.length === 0)('sample checkpoints in public/samples', () => {
  const samples = sampleFiles.map((fileName) => {
    const bytes = new Uint8Array(readFileSync(join(SAMPLES, fileName)));
    return { fileName, bytes, model: readOnnx(bytes, fileName) };
  });

  it('all read, share one architecture and hold onnx::MatMul_* weights', () => {
    const first = samples[0]!;
    const matmuls = first.model.initializers.filter((t) => t.name.startsWith('onnx::MatMul_')).length;
    expect(matmuls).toBeGreaterThan(0);
    for (const s of samples) {
      expect(s.model.initializers.filter((t) => t.floats).length).toBeGreaterThan(0);
      expect(s.model.initializers.filter((t) => t.name.startsWith('onnx::MatMul_')).length).toBe(matmuls);
      expect(architectureSignature(s.model)).toBe(architectureSignature(first.model));
      expect(describeArchitectureDifference(first, s)).toBeNull();
    }
    expect(sniffOnnx(first.bytes.subarray(0, 65536))).toBe(true);
  });

  it('weightsToInputs for all float initializers gives the same logits in onnxruntime-web', async () => {
    const s = samples[samples.length - 1]!;
    const floats = s.model.initializers.filter((t) => t.floats);
    const moved = weightsToInputs(s.bytes, new Set(floats.map((t) => t.name)), s.fileName);
    expect(readOnnx(moved, 'moved.onnx').initializers.filter((t) => t.floats)).toEqual([]);
    const r = mulberry32(3);
    const ids = BigInt64Array.from({ length: 64 }, () => BigInt(1 + Math.floor(r() * 40)));
    const mask = BigInt64Array.from({ length: 64 }, (_, i) => (i < 50 ? 1n : 0n));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [1, 64]),
      attention_mask: new ort.Tensor('int64', mask, [1, 64]),
    };
    const original = (await runModel(s.bytes, feeds)).logits!;
    const withWeights = (model: OnnxModel) => {
      const out = { ...feeds };
      for (const t of model.initializers) if (t.floats) out[t.name] = new ort.Tensor('float32', t.floats, t.dims);
      return out;
    };
    const fed = (await runModel(moved, withWeights(s.model))).logits!;
    expect(fed.dims).toEqual(original.dims);
    expect(Array.from(fed.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(fed.data).toEqual(original.data);

    // One transformed graph serves every checkpoint: fed another sample's weights, it
    // reproduces that sample's own logits.
    if (samples.length > 1) {
      const other = samples[0]!;
      const otherLogits = (await runModel(other.bytes, feeds)).logits!;
      expect(otherLogits.data).not.toEqual(original.data);
      expect((await runModel(moved, withWeights(other.model))).logits!.data).toEqual(otherLogits.data);
    }
  });
});
