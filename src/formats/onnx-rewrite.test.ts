// weightsToInputs (onnx-rewrite.ts): the rewritten graph keeps every other byte and runs the same in ORT.

import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { ONNX_FLOAT, ONNX_INT64 } from './onnx-schema';
import { readOnnx } from './onnx-read';
import { weightsToInputs } from './onnx-rewrite';
import { randomFloats } from '../testing/seeded';
import { buildModel, indexOfBytes, W, B, UNKNOWN_FIELD, matmulAddSpec, matmulAddModel, expectOnnxError, runModel } from './fixtures/onnx-builder';

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
