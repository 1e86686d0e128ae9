// architectureSignature and describeArchitectureDifference (onnx-compare.ts).

import { describe, expect, it } from 'vitest';
import { ONNX_FLOAT, ONNX_INT64 } from './onnx-schema';
import { architectureSignature, describeArchitectureDifference } from './onnx-compare';
import { readOnnx, type OnnxModel } from './onnx-read';
import { randomFloats } from '../testing/seeded';
import { type ModelSpec, buildModel, matmulAddSpec } from './fixtures/onnx-builder';

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

  it('names the most telling difference first: inputs, outputs, tensor count, shapes, then opset', () => {
    const extraTensor = (s: ModelSpec) => s.initializers.push({ name: 'extra.weight', dims: [2], floats: randomFloats(2, 5), via: 'raw' });
    const otherInputs = (s: ModelSpec) => (s.inputs = [...s.inputs, ['token_type_ids', ONNX_INT64, ['batch', 3]]]);
    const otherOutputs = (s: ModelSpec) => (s.outputs = [['logits', ONNX_FLOAT, ['batch', 4]]]);
    const reshaped = (s: ModelSpec) => (s.initializers[0] = { name: 'W', dims: [4, 3], floats: randomFloats(12, 3), via: 'raw' });
    const opset14 = (s: ModelSpec) => (s.opset = 14);
    const all = variant((s) => [opset14, reshaped, extraTensor, otherOutputs, otherInputs].forEach((f) => f(s)));
    expect(describeArchitectureDifference(a, all)).toBe('expert-b.onnx has 2 graph inputs, expert-a.onnx has 1 (extra: "token_type_ids")');
    const noInputs = variant((s) => [opset14, reshaped, extraTensor, otherOutputs].forEach((f) => f(s)));
    expect(describeArchitectureDifference(a, noInputs)).toMatch(/^expert-b\.onnx has 1 graph outputs, expert-a\.onnx has 1 \(extra: "logits"; missing: "Y"\)$/);
    const tensors = variant((s) => [opset14, reshaped, extraTensor].forEach((f) => f(s)));
    expect(describeArchitectureDifference(a, tensors)).toBe('expert-b.onnx has 3 initializers, expert-a.onnx has 2 (extra: "extra.weight")');
    const shapes = variant((s) => [opset14, reshaped].forEach((f) => f(s)));
    expect(describeArchitectureDifference(a, shapes)).toBe('expert-b.onnx: initializer "W" has shape [4, 3], expert-a.onnx has [3, 4]');
    const inputShape = variant((s) => [opset14, (t: ModelSpec) => (t.inputs = [['X', ONNX_FLOAT, [1, 3]]])].forEach((f) => f(s)));
    expect(describeArchitectureDifference(a, inputShape)).toBe('expert-b.onnx: input "X" has shape [1, 3], expert-a.onnx has [batch, 3]');
    expect(describeArchitectureDifference(a, variant(opset14))).toBe('expert-b.onnx uses opset 14, expert-a.onnx uses opset 17');
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
