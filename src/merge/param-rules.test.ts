import { describe, expect, it } from 'vitest';
import { ParamRuleError, paramsForTensor, resolveParam, validateParamRule, validateWeightRules } from './param-rules';
import { DEFAULT_MERGE } from '../protocol/settings';
import { CpuMerger } from './cpu-merger';
import { methodProblem } from './params';
import { tensorDepths } from './tensor-position';
import type { OnnxModel } from '../formats/onnx-read';

describe('per-tensor parameter rules', () => {
  it('a scalar applies everywhere', () => {
    expect(resolveParam(0.4, 'any', 0.9)).toBe(0.4);
  });

  it('a list interpolates linearly over depth between evenly spaced anchors', () => {
    expect(resolveParam([0.2, 0.8], 'w', 0)).toBeCloseTo(0.2, 12);
    expect(resolveParam([0.2, 0.8], 'w', 0.5)).toBeCloseTo(0.5, 12);
    expect(resolveParam([0.2, 0.8], 'w', 1)).toBeCloseTo(0.8, 12);
    // three anchors at depth 0, 0.5, 1: depth 0.75 is halfway between the last two
    expect(resolveParam([0, 1, 0], 'w', 0.75)).toBeCloseTo(0.5, 12);
    expect(resolveParam([1, 3], 'w', 1.7)).toBe(3);
  });

  it('filters pick the first matching entry; an entry without filter is the default', () => {
    const rule = [
      { filter: 'attn', value: 0.7 },
      { filter: 'head', value: [0.1, 0.3] },
      { value: 0.5 },
    ];
    expect(resolveParam(rule, 'layers.0.attn.q.bias', 0.3)).toBe(0.7);
    expect(resolveParam(rule, 'head.weight', 0.5)).toBeCloseTo(0.2, 12);
    expect(resolveParam(rule, 'embed.weight', 0)).toBe(0.5);
    expect(() => resolveParam([{ filter: 'attn', value: 1 }], 'head.weight', 0)).toThrow(ParamRuleError);
  });

  it('rejects malformed rules with the parameter named', () => {
    expect(() => validateParamRule('0.5', 'density')).toThrow(/density: expected a number/);
    expect(() => validateParamRule([{ filter: 3, value: 1 }], 'lambda')).toThrow(/lambda: entry 1 has a filter/);
    expect(() => validateParamRule([{ filter: 'a' }], 'lambda')).toThrow(/lambda: entry 1 needs "value"/);
    expect(validateParamRule([0.1, 0.9], 'density')).toEqual([0.1, 0.9]);
  });

  it('per-model weight rules become each tensor\'s weights, and a linear merge follows them per depth', () => {
    const params = { ...DEFAULT_MERGE, method: 'linear', weights: [9, 9], weightRules: [[1, 0], [0, 1]] };
    expect(paramsForTensor(params, 'w', 0).weights).toEqual([1, 0]);
    expect(paramsForTensor(params, 'w', 0.25).weights).toEqual([0.75, 0.25]);
    expect(paramsForTensor(params, 'w', 1).weights).toEqual([0, 1]);
    expect(paramsForTensor(params, 'w', 1).weightRules).toBeUndefined();
    const layout = { totalSize: 2, slots: [{ name: 'early', offset: 0, size: 1, depth: 0, dims: [1] }, { name: 'late', offset: 1, size: 1, depth: 1, dims: [1] }] };
    const out = new Float32Array(2);
    new CpuMerger(layout as never, params, null).mergeInto(out, [Float32Array.from([2, 2]), Float32Array.from([4, 4])]);
    expect(Array.from(out)).toEqual([2, 4]);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'linear', weightRules: [1] }, 2, false)).toMatch(/1 per-model weight rules for 2 models/);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'slerp', weightRules: [1, 1] }, 2, false)).toMatch(/no per-model weights/);
    expect(() => validateWeightRules([1, 'x'])).toThrow(/weightRules\[1\]/);
    expect(() => validateWeightRules([])).toThrow(/one rule per model/);
  });

  it('depth is the position of the first node reading a tensor', () => {
    const node = (inputs: string[]) => ({ opType: 'MatMul', domain: '', inputs, outputs: ['y'], attributesDigest: '' });
    const model = { nodes: [node(['x', 'a']), node(['y', 'b']), node(['y', 'a']), node(['y', 'c']), node(['y', 'd'])] } as unknown as OnnxModel;
    expect(Object.fromEntries(tensorDepths(model, ['a', 'b', 'd']))).toEqual({ a: 0, b: 0.25, d: 1 });
  });
});
