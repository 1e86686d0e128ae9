// readOnnx and sniffOnnx (onnx-read.ts) on models built byte by byte (fixtures/onnx-builder.ts).

import { describe, expect, it } from 'vitest';
import { OnnxFormatError } from './errors';
import { ONNX_FLOAT, ONNX_INT64 } from './onnx-schema';
import { readOnnx, sniffOnnx } from './onnx-read';
import { readFields } from './onnx-wire';
import { mulberry32, randomFloats } from '../testing/seeded';
import { buildModel, W, B, matmulAddSpec, matmulAddModel, expectOnnxError } from './fixtures/onnx-builder';

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
