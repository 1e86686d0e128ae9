import { describe, expect, it } from 'vitest';
import { DEFAULT_MERGE, DEFAULT_SETTINGS, type MergeParams } from '../protocol/settings';
import type { RunResult } from '../protocol/results';
import { reproduceArguments, reproduceCommand, rulesNote, type ReproduceInputs } from './reproduce-command';

function inputs(strategy: RunResult['strategy'], merger: Partial<MergeParams>, checkpoints: string[][], base: string[] | null): ReproduceInputs {
  const report = { strategy, settings: { ...DEFAULT_SETTINGS, merger: { ...DEFAULT_MERGE, ...merger } } } as RunResult;
  return { report, checkpoints, base, graph: 'graph.onnx', dev: 'data/dev set.jsonl', tokenizer: null, heldout: null, recipe: 'r.recipe.json', out: 'out.safetensors' };
}

describe('the reproduce command', () => {
  it('gives an evolved run its graph, data, recipe and output, a sharded checkpoint by its folder and ONNX by its .onnx', () => {
    const args = reproduceArguments(inputs('evolver', {}, [['m/a/model.safetensors.index.json', 'm/a/model-00001-of-00001.safetensors'], ['b.onnx', 'b.onnx_data']], ['base.safetensors']));
    expect(args).toEqual(['evolve', '--base', 'base.safetensors', '--graph', 'graph.onnx', '--dev', 'data/dev set.jsonl', '--recipe', 'r.recipe.json', '--out', 'out.safetensors', 'm/a', 'b.onnx']);
    expect(reproduceCommand(inputs('evolver', {}, [['a.onnx'], ['b.onnx']], null))).toContain("--dev 'data/dev set.jsonl'");
  });

  it('passes --base to merge only where the studio read it: not for linear beside two experts, as its t = 0 side for SLERP of one', () => {
    const linear = reproduceArguments(inputs('merge', { method: 'linear', weights: [2, 1] }, [['a.onnx'], ['b.onnx']], ['base.onnx']));
    expect(linear).not.toContain('--base');
    expect(linear).not.toContain('--graph');
    expect(linear).toEqual(expect.arrayContaining(['--method', 'linear', '--weights', '2,1', '--dtype', 'F32']));
    const slerp = reproduceArguments(inputs('merge', { method: 'slerp', t: 0.3 }, [['base.onnx'], ['a.onnx']], ['base.onnx']));
    expect(slerp).toEqual(['merge', '--method', 'slerp', '--t', '0.3', '--base', 'base.onnx', '--dtype', 'F32', '--out', 'out.safetensors', 'a.onnx']);
    const ties = reproduceArguments(inputs('merge', { method: 'ties', density: 0.4 }, [['a.onnx'], ['b.onnx']], ['base.onnx']));
    expect(ties).toEqual(expect.arrayContaining(['--base', 'base.onnx', '--density', '0.4']));
  });

  it('says when per-tensor rules cannot travel as flags', () => {
    expect(rulesNote(inputs('merge', { rules: { density: [0.2, 0.8] } }, [], null).report)).toContain('per-tensor rules (density)');
    expect(rulesNote(inputs('merge', {}, [], null).report)).toBeNull();
  });
});
