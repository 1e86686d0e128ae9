import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMergekitConfig } from './mergekit-config';
import { matchCheckpoint, studioMerge } from './mergekit-config-studio';
import { paramsForTensor } from './param-rules';

const FIXTURES = path.join(import.meta.dirname, 'fixtures/mergekit-configs');
const fixture = (name: string) => parseMergekitConfig(readFileSync(path.join(FIXTURES, name), 'utf8'), name);

describe('a mergekit config dropped into the studio', () => {
  it('matches models to loaded checkpoints by file or folder name', () => {
    const names = ['orca_mini_v3_13b', 'Platypus2-13B/model-00001-of-00002', 'expert-a.onnx'];
    expect(matchCheckpoint('psmathur/orca_mini_v3_13b', names)).toBe('orca_mini_v3_13b');
    expect(matchCheckpoint('./models/Platypus2-13B', names)).toBe('Platypus2-13B/model-00001-of-00002');
    expect(matchCheckpoint('experts/expert-a.onnx', names)).toBe('expert-a.onnx');
    expect(matchCheckpoint('WizardLM/WizardLM-13B-V1.2', names)).toBeNull();
  });

  it('linear.yml: weights in population order, the missing model named', () => {
    const plan = studioMerge(fixture('linear.yml'), ['orca_mini_v3_13b', 'Platypus2-13B']);
    expect(plan.params.method).toBe('linear');
    expect(plan.params.weights).toEqual([1, 0.5]);
    expect(plan.missing).toEqual(['WizardLM/WizardLM-13B-V1.2']);
  });

  it('gradient-slerp.yml: t filters and gradients become per-tensor rules (with a default entry)', () => {
    const plan = studioMerge(fixture('gradient-slerp.yml'), ['orca_mini_v3_13b', 'Platypus2-13B']);
    expect(plan.base).toBe('orca_mini_v3_13b');
    expect(plan.missing).toEqual([]);
    expect(plan.params.rules?.t).toEqual([{ filter: 'self_attn', value: [0, 0.5, 0.3, 0.7, 1] }, { filter: 'mlp', value: [1, 0.5, 0.7, 0.3, 0] }, { value: 0.5 }]);
    expect(paramsForTensor(plan.params, 'model.layers.0.mlp.up_proj.weight', 0).t).toBe(1);
    expect(paramsForTensor(plan.params, 'model.norm.weight', 1).t).toBe(0.5);
  });

  it('dare-ties.yml: base, per-model weights and the shared density', () => {
    const plan = studioMerge(fixture('dare-ties.yml'), ['Mistral-7B-v0.1', 'SamirGPT-v1', 'Slerp-CM-mist-dpo', 'Mistral-7B-Merge-14-v0.2']);
    expect(plan.base).toBe('Mistral-7B-v0.1');
    expect(plan.params.weights).toEqual([0.4, 0.3, 0.3]);
    expect(plan.params.density).toBe(0.53);
    expect(plan.notes).toEqual([]);
  });

  it('ties.yml: per-model gradients are named as not carried over; a passthrough config is refused with the CLI route', () => {
    const plan = studioMerge(fixture('ties.yml'), ['Llama-2-13B-fp16', 'orca_mini_v3_13b', 'Platypus2-13B', 'WizardMath-13B-V1.0']);
    expect(plan.base).toBe('Llama-2-13B-fp16');
    expect(plan.notes.join(' ')).toMatch(/per-model weight gradients or filters are not carried over/);
    const franken = studioMerge(fixture('orcamini-platy-44layer.yml'), []);
    expect(franken.notes.join(' ')).toMatch(/merge --config/);
  });
});
