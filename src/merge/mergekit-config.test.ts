import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MERGEKIT_ONLY, parseMergekitConfig, referencedModels, type MergekitConfig } from './mergekit-config';
import { tensorMerge } from './mergekit-config-tensor';
import { mergekitYaml } from './mergekit-config-write';
import { planSlices, planWholeModels, tensorT, type OutputTensor } from './slices';
import { findMethod } from './registry';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';

const FIXTURES = path.join(import.meta.dirname, 'fixtures/mergekit-configs');
const fixture = (name: string) => parseMergekitConfig(readFileSync(path.join(FIXTURES, name), 'utf8'), name);

/** A llama-like checkpoint's tensor names. */
function llamaNames(layers: number): string[] {
  const out = ['model.embed_tokens.weight'];
  for (let i = 0; i < layers; i++) out.push(`model.layers.${i}.self_attn.q_proj.weight`, `model.layers.${i}.mlp.up_proj.weight`, `model.layers.${i}.input_layernorm.weight`);
  return [...out, 'model.norm.weight', 'lm_head.weight'];
}

function outputs(config: MergekitConfig, layers: number): OutputTensor[] {
  const names = () => llamaNames(layers);
  return config.models ? planWholeModels(config.slices[0]!.sources.map((s) => s.model), names) : planSlices(config.slices, names);
}

const at = (outs: OutputTensor[], name: string) => outs.find((o) => o.name === name)!;
const extra = (p: MergeParams) => p as unknown as Record<string, unknown>;

describe('mergekit configs (examples kept as they are)', () => {
  it('linear.yml: per-model weights, float16 out', () => {
    const config = fixture('linear.yml');
    expect(config.method).toMatchObject({ kind: 'registry' });
    expect(config.outDtype).toBe('F16');
    const outs = outputs(config, 4);
    const merge = tensorMerge(config, at(outs, 'model.layers.2.mlp.up_proj.weight'));
    expect(merge.params.method).toBe('linear');
    expect(merge.params.weights).toEqual([1, 0.3, 0.5]);
    expect(merge.base).toBeNull();
  });

  it('ties.yml: density and weight gradients over the layers, a weight filter, the base apart', () => {
    const config = fixture('ties.yml');
    expect(config.base).toBe('TheBloke/Llama-2-13B-fp16');
    // The base joins the models as mergekit's normalize_config does.
    expect(referencedModels(config)).toHaveLength(4);
    const outs = outputs(config, 5);
    const first = tensorMerge(config, at(outs, 'model.layers.0.mlp.up_proj.weight'));
    expect(first.base).toBe(3);
    expect(first.models).toEqual([0, 1, 2]);
    expect(first.params.weights).toEqual([1, 0, 0.5]);
    expect(extra(first.params).densities).toEqual([1, 0.5, 0.33]);
    const last = tensorMerge(config, at(outs, 'model.layers.4.self_attn.q_proj.weight'));
    expect(last.params.weights).toEqual([1, 1, 0]);
    expect(extra(last.params).densities).toEqual([0.1, 0.5, 0.33]);
    const mid = tensorMerge(config, at(outs, 'model.layers.2.mlp.up_proj.weight'));
    expect(mid.params.weights![1]).toBeCloseTo(0.5, 6);
    expect(extra(mid.params).densities).toEqual([0.7, 0.5, 0.33]);
    expect(at(outs, 'model.embed_tokens.weight').t).toBe(0);
    expect(at(outs, 'lm_head.weight').t).toBe(1);
  });

  it('bio-merge.yml: ties with normalize false and int8_mask', () => {
    const config = fixture('bio-merge.yml');
    const merge = tensorMerge(config, outputs(config, 2)[1]!);
    expect(merge.params.density).toBe(0.5);
    expect(extra(merge.params).normalize).toBe(false);
    expect(merge.params.weights).toEqual([0.5, 0.5]);
  });

  it('dare-ties.yml: the base listed among the models without parameters', () => {
    const config = fixture('dare-ties.yml');
    const merge = tensorMerge(config, outputs(config, 2)[2]!);
    expect(merge.params.method).toBe('dare_ties');
    expect(merge.base).toBe(0);
    expect(merge.models).toEqual([1, 2, 3]);
    expect(merge.params.weights).toEqual([0.4, 0.3, 0.3]);
    expect(merge.params.density).toBe(0.53);
    expect(config.outDtype).toBe('BF16');
  });

  it('gradient-slerp.yml: t by filter and layer, the base at t = 0', () => {
    const config = fixture('gradient-slerp.yml');
    const outs = outputs(config, 40);
    expect(outs.filter((o) => o.name.endsWith('q_proj.weight'))).toHaveLength(40);
    const t = (name: string) => tensorMerge(config, at(outs, name)).params.t;
    expect(t('model.layers.0.self_attn.q_proj.weight')).toBe(0);
    expect(t('model.layers.39.self_attn.q_proj.weight')).toBe(1);
    expect(t('model.layers.0.mlp.up_proj.weight')).toBe(1);
    expect(t('model.layers.39.mlp.up_proj.weight')).toBeCloseTo(0, 9);
    // Layer 13 of 40: t = 1/3 → between anchors 0.5 and 0.3 (at 1/3 of the way).
    expect(t('model.layers.13.self_attn.q_proj.weight')).toBeCloseTo(0.5 + (0.3 - 0.5) * ((13 / 39) * 4 - 1), 9);
    expect(t('model.norm.weight')).toBe(0.5);
    const merge = tensorMerge(config, at(outs, 'model.norm.weight'));
    expect(merge.models).toEqual([0, 1]);
    expect(merge.base).toBeNull();
  });

  it('orcamini-platy-44layer.yml: passthrough stacks 24 + 20 layers renamed 0…43', () => {
    const config = fixture('orcamini-platy-44layer.yml');
    expect(config.method).toEqual({ kind: 'passthrough' });
    const outs = outputs(config, 40);
    const q = outs.filter((o) => o.name.endsWith('q_proj.weight'));
    expect(q).toHaveLength(44);
    expect(at(outs, 'model.layers.23.self_attn.q_proj.weight').inputs).toEqual([{ model: 'psmathur/orca_mini_v3_13b', tensor: 'model.layers.23.self_attn.q_proj.weight' }]);
    expect(at(outs, 'model.layers.24.self_attn.q_proj.weight').inputs).toEqual([{ model: 'garage-bAInd/Platypus2-13B', tensor: 'model.layers.20.self_attn.q_proj.weight' }]);
    expect(at(outs, 'model.layers.43.mlp.up_proj.weight').inputs[0]!.tensor).toBe('model.layers.39.mlp.up_proj.weight');
    expect(at(outs, 'model.embed_tokens.weight').inputs[0]!.model).toBe('psmathur/orca_mini_v3_13b');
    expect(at(outs, 'lm_head.weight').inputs[0]!.model).toBe('garage-bAInd/Platypus2-13B');
    expect(outs[0]!.name).toBe('model.embed_tokens.weight');
  });

  it('della.yml: runs once della is registered, else says it is not supported yet', () => {
    if (findMethod('della')) {
      const config = fixture('della.yml');
      const merge = tensorMerge(config, outputs(config, 2)[1]!);
      expect(merge.params.weights).toEqual([0.3, 0.7]);
    } else {
      expect(() => fixture('della.yml')).toThrow(/della\.yml: merge_method "della" is not supported yet/);
    }
  });

  it('passthrough refuses a layer range past the model', () => {
    const config = fixture('orcamini-platy-44layer.yml');
    expect(() => outputs(config, 30)).toThrow(/layer_range \[20, 40\] of garage-bAInd\/Platypus2-13B is outside its 30 layers/);
  });
});

describe('mergekit config errors', () => {
  const parse = (text: string) => () => parseMergekitConfig(text, 'merge.yml');
  const linear = 'merge_method: linear\nmodels:\n  - model: a\n  - model: b\n';

  it('names unknown keys with what is allowed there', () => {
    expect(parse(`${linear}foo: 1\n`)).toThrow(/merge\.yml: unknown key "foo" \(allowed: merge_method, models, slices/);
    expect(parse('merge_method: linear\nmodels:\n  - model: a\n    weight: 1\n')).toThrow(/models\[0\]: unknown key "weight" \(allowed: model, parameters\)/);
    expect(parse(`${linear}parameters:\n  density: 0.5\n`)).toThrow(/parameters: unknown parameter "density" \(allowed here: weight, normalize/);
    expect(parse('merge_method: slerp\nbase_model: a\nmodels:\n  - model: a\n  - model: b\nparameters:\n  t:\n    - pattern: mlp\n      value: 1\n')).toThrow(/parameters\.t\[0\]: unknown key "pattern" \(allowed: filter, value; older mergekit configs said "pattern"/);
    expect(parse('merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n        layers: 3\n')).toThrow(/slices\[0\]\.sources\[0\]: unknown key "layers"/);
  });

  it('refuses bad values naming the key', () => {
    expect(parse(`${linear}dtype: float8\n`)).toThrow(/dtype: unsupported dtype "float8" \(allowed: float32, float16, bfloat16\)/);
    expect(parse('merge_method: linear\nmodels:\n  - model: a\n    parameters:\n      weight: heavy\n  - model: b\n')).toThrow(/models\[0\]\.parameters\.weight: expected a number/);
    expect(parse('merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [4, 2]\n')).toThrow(/layer_range: expected \[first, end\)/);
    expect(parse('merge_method: slerp\nmodels:\n  - model: a\n  - model: b\n')).toThrow(/slerp needs a base_model/);
    expect(parse('merge_method: frobnicate\nmodels:\n  - model: a\n')).toThrow(/unknown merge_method "frobnicate"/);
    const absent = MERGEKIT_ONLY.find((n) => !findMethod(n));
    if (absent) expect(parse(`merge_method: ${absent}\nmodels:\n  - model: a\n`)).toThrow(new RegExp(`merge_method "${absent}" is not supported yet`));
    expect(parse(`${linear}tokenizer_source: union\n`)).toThrow(/tokenizer_source: union is not supported yet/);
    expect(parse('merge_method: linear\nmodels:\n  - model: a\nslices:\n  - sources: []\n')).toThrow(/exactly one of "models" or "slices"/);
    expect(parse('merge_method: regmean\nmodels:\n  - model: a\n  - model: b\n')).toThrow(/needs dev data/);
    expect(parse('models: [a: 1')).toThrow(/merge\.yml: not valid YAML/);
    expect(parse('merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: [0, 2]\n      - model: b\n        layer_range: [0, 2]\n')).toThrow(/passthrough copies layers: slice 1 has 2 sources/);
  });

  it('per-model values that differ where the method takes one value are refused per tensor', () => {
    const config = parseMergekitConfig('merge_method: task_arithmetic\nbase_model: c\nmodels:\n  - model: a\n  - model: b\nparameters:\n  weight: 1\n  lambda: [0, 1]\n', 'merge.yml');
    const outs = planWholeModels(['a', 'b', 'c'], () => llamaNames(3));
    expect(tensorMerge(config, at(outs, 'model.layers.2.mlp.up_proj.weight')).params.lambda).toBe(1);
    expect(tensorMerge(config, at(outs, 'model.layers.1.mlp.up_proj.weight')).params.lambda).toBe(0.5);
  });

  it('slerp without a t for a tensor says so', () => {
    const config = parseMergekitConfig('merge_method: slerp\nbase_model: a\nmodels:\n  - model: a\n  - model: b\nparameters:\n  t:\n    - filter: mlp\n      value: 0.3\n', 'merge.yml');
    const outs = planWholeModels(['a', 'b'], () => llamaNames(2));
    expect(tensorMerge(config, at(outs, 'model.layers.0.mlp.up_proj.weight')).params.t).toBe(0.3);
    expect(() => tensorMerge(config, at(outs, 'model.norm.weight'))).toThrow(/tensor model\.norm\.weight: slerp needs parameter t/);
  });

  it("t follows mergekit's layer fraction", () => {
    expect(tensorT('model.layers.3.mlp.up_proj.weight', 4)).toBe(1);
    expect(tensorT('transformer.h.1.attn.c_attn.weight', 3)).toBe(0.5);
    expect(tensorT('model.embed_tokens.weight', 4)).toBe(0);
    expect(tensorT('model.norm.weight', 4)).toBe(1);
  });
});

describe('MergeParams as mergekit YAML', () => {
  it('writes a TIES merge with rules and weights that parses back to the same values', () => {
    const params: MergeParams = { ...DEFAULT_MERGE, method: 'ties', density: 0.4, lambda: 1, weights: [1, 0.5], rules: { density: [{ filter: 'mlp', value: [0.2, 0.8] }, { value: 0.5 }] } };
    const { text, problems } = mergekitYaml({ params, models: ['a/model.safetensors', 'b'], base: 'base', dtype: 'BF16' });
    expect(problems).toEqual([]);
    const config = parseMergekitConfig(text, 'out.yml');
    expect(config.base).toBe('base');
    expect(config.models!.map((m) => m.model)).toEqual(['a', 'b']);
    expect(config.outDtype).toBe('BF16');
    const outs = planWholeModels(['a', 'b', 'base'], () => llamaNames(3));
    const merge = tensorMerge(config, at(outs, 'model.layers.2.mlp.up_proj.weight'));
    expect(merge.params.density).toBe(0.8);
    expect(merge.params.weights).toEqual([1, 0.5]);
    expect(tensorMerge(config, at(outs, 'model.layers.2.self_attn.q_proj.weight')).params.density).toBe(0.5);
  });

  it('says what mergekit cannot carry', () => {
    expect(mergekitYaml({ params: { ...DEFAULT_MERGE, method: 'dare_ties', seed: 7 }, models: ['a', 'b'], base: 'c' }).problems.join(' ')).toMatch(/seed 7 is not carried over/);
    expect(mergekitYaml({ params: { ...DEFAULT_MERGE, method: 'regmean' }, models: ['a', 'b'], base: null }).problems.join(' ')).toMatch(/not a mergekit method/);
    const slerp = mergekitYaml({ params: { ...DEFAULT_MERGE, method: 'slerp', t: 0.3 }, models: ['a', 'b'], base: null });
    const config = parseMergekitConfig(slerp.text, 'slerp.yml');
    expect(config.base).toBe('a');
  });
});
