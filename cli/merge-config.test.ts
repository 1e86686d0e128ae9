/**
 * `merge --config` on small generated safetensors folders (llama-like names, 4 layers):
 * linear, ties, gradient slerp and a passthrough frankenmerge, checking the output folder
 * as mergekit writes it (shards, index, config.json, tokenizer, card, config) and its tensors.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/formats/safetensors-write';
import { readSafetensors } from '../src/formats/safetensors-read';
import { tensorToFloat32 } from '../src/formats/safetensors-float';
import { parseMergekitConfig } from '../src/merge/mergekit-config';
import { findMethod } from '../src/merge/registry';
import { cliInProcess as cli } from './cli-testing';

const LAYERS = 4;
const H = 4;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-mergekit-'));

/** A model folder: every tensor filled from value(name, i), config.json and a tokenizer naming the folder. */
function makeModel(name: string, value: (tensor: string, i: number) => number, layers = LAYERS, root = tmp): void {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [8, H]]];
  for (let l = 0; l < layers; l++) shapes.push([`model.layers.${l}.self_attn.q_proj.weight`, [H, H]], [`model.layers.${l}.mlp.up_proj.weight`, [H, H]]);
  shapes.push(['model.norm.weight', [H]], ['lm_head.weight', [8, H]]);
  const tensors = shapes.map(([n, shape]) => ({ name: n, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(n, i)) }));
  writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(tensors));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], num_hidden_layers: layers, hidden_size: H }));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ from: name }));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ from: name }));
}

/** Deterministic pseudo-random values per model. */
const noise = (seed: number) => (tensor: string, i: number) => Math.sin(seed * 12.9898 + i * 78.233 + tensor.length * 3.1) * 0.5;

function readOut(dir: string): Map<string, Float32Array> {
  const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  const out = new Map<string, Float32Array>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    const file = readSafetensors(new Uint8Array(readFileSync(path.join(dir, shard))), shard);
    for (const t of file.tensors) out.set(t.name, tensorToFloat32(t));
  }
  expect([...out.keys()].sort()).toEqual(Object.keys(index.weight_map).sort());
  return out;
}

function readModel(name: string): Map<string, Float32Array> {
  const file = readSafetensors(new Uint8Array(readFileSync(path.join(tmp, name, 'model.safetensors'))), name);
  return new Map(file.tensors.map((t) => [t.name, tensorToFloat32(t)]));
}


function config(name: string, yaml: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, yaml);
  return file;
}

const close = (a: Float32Array, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
};

beforeAll(() => {
  makeModel('base', noise(1));
  makeModel('alpha', (t, i) => noise(1)(t, i) + 0.1 * Math.cos(i + 1));
  makeModel('beta', (t, i) => noise(1)(t, i) + 0.2 * Math.cos(i + 1) + 0.05);
  makeModel('gamma', noise(7));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('merge --config (mergekit YAML)', () => {
  it('linear: weighted average into a sharded mergekit folder with config, tokenizer, card and config copy', async () => {
    const file = config('linear.yml', 'models:\n  - model: alpha\n    parameters:\n      weight: 1.0\n  - model: beta\n    parameters:\n      weight: 3.0\nmerge_method: linear\n');
    const out = path.join(tmp, 'out-linear');
    const r = await cli('merge', '--config', file, '--out', out, '--out-shard-size', '200');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = readdirSync(out).sort();
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    expect(files).toEqual(expect.arrayContaining(['model.safetensors.index.json', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md', 'mergekit_config.yml']));
    // No base: config and tokenizer from the first model, as mergekit.
    expect(JSON.parse(readFileSync(path.join(out, 'tokenizer.json'), 'utf8'))).toEqual({ from: 'alpha' });
    expect(readFileSync(path.join(out, 'mergekit_config.yml'), 'utf8')).toBe(readFileSync(file, 'utf8'));
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/- mergekit[\s\S]*```yaml\nmodels:/);
    const merged = readOut(out);
    const [a, b] = [readModel('alpha'), readModel('beta')];
    for (const [name, data] of merged) close(data, a.get(name)!.map((v, i) => (v + 3 * b.get(name)![i]!) / 4));
  });

  it('ties with the base and tokenizer_source: base; F16 out from dtype', async () => {
    const file = config('ties.yml', 'models:\n  - model: alpha\n    parameters:\n      weight: 1\n  - model: beta\n    parameters:\n      weight: 1\nmerge_method: ties\nbase_model: base\ntokenizer_source: base\nparameters:\n  normalize: true\n  int8_mask: true\ndtype: float16\n');
    const out = path.join(tmp, 'out-ties');
    const r = await cli('merge', '--config', file, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out)).toContain('model-00001-of-00001.safetensors');
    expect(JSON.parse(readFileSync(path.join(out, 'tokenizer.json'), 'utf8'))).toEqual({ from: 'base' });
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
    const shard = readSafetensors(new Uint8Array(readFileSync(path.join(out, 'model-00001-of-00001.safetensors'))), 'shard');
    expect(shard.tensors[0]!.dtype).toBe('F16');
    const merged = readOut(out);
    const [base, a, b] = [readModel('base'), readModel('alpha'), readModel('beta')];
    // density 1 (mergekit's default): where both task vectors agree in sign, their mean; else the elected one's.
    for (const [name, data] of merged) {
      const x = base.get(name)!;
      const expected = x.map((v, i) => {
        const ta = a.get(name)![i]! - v;
        const tb = b.get(name)![i]! - v;
        const sign = ta + tb >= 0 ? 1 : -1;
        const agree = [ta, tb].filter((t) => t !== 0 && Math.sign(t) === sign);
        return v + (agree.length ? agree.reduce((s, t) => s + t, 0) / agree.length : 0);
      });
      close(data, expected, 2e-3);
    }
  });

  it('slerp with a t gradient per filter: layer 0 attention is the base, the last layer the other model', async () => {
    const file = config('slerp.yml', 'slices:\n  - sources:\n      - model: alpha\n        layer_range: [0, 4]\n      - model: gamma\n        layer_range: [0, 4]\nmerge_method: slerp\nbase_model: alpha\nparameters:\n  t:\n    - filter: self_attn\n      value: [0, 1]\n    - filter: mlp\n      value: [1, 0]\n    - value: 0.5\n');
    const out = path.join(tmp, 'out-slerp');
    const r = await cli('merge', '--config', file, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const merged = readOut(out);
    const [a, g] = [readModel('alpha'), readModel('gamma')];
    close(merged.get('model.layers.0.self_attn.q_proj.weight')!, a.get('model.layers.0.self_attn.q_proj.weight')!);
    close(merged.get('model.layers.3.self_attn.q_proj.weight')!, g.get('model.layers.3.self_attn.q_proj.weight')!);
    close(merged.get('model.layers.0.mlp.up_proj.weight')!, g.get('model.layers.0.mlp.up_proj.weight')!);
    close(merged.get('model.layers.3.mlp.up_proj.weight')!, a.get('model.layers.3.mlp.up_proj.weight')!);
    const mid = merged.get('model.layers.1.self_attn.q_proj.weight')!;
    const [ma, mg] = [a.get('model.layers.1.self_attn.q_proj.weight')!, g.get('model.layers.1.self_attn.q_proj.weight')!];
    expect(mid.some((v, i) => Math.abs(v - ma[i]!) > 1e-3 && Math.abs(v - mg[i]!) > 1e-3)).toBe(true);
  });

  it('passthrough frankenmerge: layers stacked and renamed, config.json with the new layer count', async () => {
    const file = config('franken.yml', 'slices:\n  - sources:\n    - model: alpha\n      layer_range: [0, 3]\n  - sources:\n    - model: gamma\n      layer_range: [1, 4]\nmerge_method: passthrough\n');
    const out = path.join(tmp, 'out-franken');
    const r = await cli('merge', '--config', file, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).num_hidden_layers).toBe(6);
    const merged = readOut(out);
    const [a, g] = [readModel('alpha'), readModel('gamma')];
    expect(merged.size).toBe(6 * 2 + 3);
    close(merged.get('model.layers.2.mlp.up_proj.weight')!, a.get('model.layers.2.mlp.up_proj.weight')!);
    close(merged.get('model.layers.3.self_attn.q_proj.weight')!, g.get('model.layers.1.self_attn.q_proj.weight')!);
    close(merged.get('model.layers.5.mlp.up_proj.weight')!, g.get('model.layers.3.mlp.up_proj.weight')!);
    close(merged.get('model.embed_tokens.weight')!, a.get('model.embed_tokens.weight')!);
    close(merged.get('lm_head.weight')!, g.get('lm_head.weight')!);
  });

  it('one .safetensors file when --out names one', async () => {
    const file = config('one.yml', 'models:\n  - model: alpha\n  - model: beta\nmerge_method: linear\n');
    const out = path.join(tmp, 'one.safetensors');
    expect((await cli('merge', '--config', file, '--out', out)).code).toBe(0);
    expect(readSafetensors(new Uint8Array(readFileSync(out)), 'one').tensors).toHaveLength(LAYERS * 2 + 3);
    const memory = path.join(tmp, 'one-memory.safetensors');
    expect((await cli('merge', '--config', file, '--in-memory', '--out', memory)).code).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(memory))).toBe(0);
  });

  it('clear errors: a missing model, an unsupported method, an unknown key', async () => {
    const missing = await cli('merge', '--config', config('missing.yml', 'models:\n  - model: alpha\n  - model: nowhere/model\nmerge_method: linear\n'), '--out', path.join(tmp, 'x'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/missing\.yml: model "nowhere\/model" not found .*local folders or files, relative to the config file/);
    const della = await cli('merge', '--config', config('della.yml', 'models:\n  - model: alpha\n    parameters:\n      weight: 0.3\n  - model: beta\n    parameters:\n      weight: 0.7\nmerge_method: della\nbase_model: base\nparameters:\n  lambda: 0.5\n  density: 0.7\n  epsilon: 0.01\n'), '--out', path.join(tmp, 'out-della'));
    if (findMethod('della')) expect(della.code).toBe(0);
    else expect(della.stderr).toMatch(/della\.yml: merge_method "della" is not supported yet/);
    const unknown = await cli('merge', '--config', config('bad.yml', 'models:\n  - model: alpha\nmerge_methd: linear\n'), '--out', path.join(tmp, 'y'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/bad\.yml: unknown key "merge_methd" \(allowed: merge_method/);
    expect(existsSync(path.join(tmp, 'y'))).toBe(false);
  });

  it('merge --method … --out DIR writes the folder with the flags as mergekit YAML', async () => {
    const out = path.join(tmp, 'out-flags');
    const r = await cli('merge', '--method', 'ties', '--base', path.join(tmp, 'base'), '--density', '0.7', '--weights', '1,0.5', '--device', 'cpu', '--out', out, path.join(tmp, 'alpha'), path.join(tmp, 'beta'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const yaml = readFileSync(path.join(out, 'mergekit_config.yml'), 'utf8');
    const parsed = parseMergekitConfig(yaml, 'mergekit_config.yml');
    expect(parsed.methodName).toBe('ties');
    expect(parsed.models!.map((m) => m.parameters.weight)).toEqual([1, 0.5]);
    expect(parsed.parameters.density).toBe(0.7);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['model-00001-of-00001.safetensors', 'model.safetensors.index.json', 'config.json', 'tokenizer.json', 'README.md']));
  });
});

describe('the studio recipe as mergekit YAML', () => {
  it('a one-shot merge recipe becomes a config that runs; an Evolver run says what is not carried', async () => {
    const { recipeMergekitYaml } = await import('../src/export/recipe');
    const { DEFAULT_SETTINGS, DEFAULT_MERGE } = await import('../src/protocol/settings');
    const recipe = { ...DEFAULT_SETTINGS, merger: { ...DEFAULT_MERGE, method: 'ties', density: 0.6, weights: [1, 2] }, strategy: 'merge', base: 'base', sources: ['alpha', 'beta'] };
    const yaml = recipeMergekitYaml(recipe, 'ties-merge.recipe.json');
    expect(yaml.fileName).toBe('ties-merge.mergekit.yml');
    expect(yaml.problems).toEqual([]);
    const file = config('from-recipe.yml', yaml.text);
    expect((await cli('merge', '--config', file, '--out', path.join(tmp, 'out-recipe'))).code).toBe(0);
    const evolved = recipeMergekitYaml({ ...recipe, strategy: 'evolver' }, 'run.recipe.json');
    expect(evolved.problems[0]).toMatch(/evolved versions of the checkpoints/);
    expect(evolved.text).toMatch(/^# Not carried over to mergekit/);
  });
});

describe("mergekit's example configs, unchanged, on generated models at their paths", () => {
  const FIXTURES = path.resolve(import.meta.dirname, '../src/merge/fixtures/mergekit-configs');
  for (const name of readdirSync(FIXTURES).filter((f) => f.endsWith('.yml'))) {
    it(name, async () => {
      const root = mkdtempSync(path.join(tmp, 'example-'));
      const text = readFileSync(path.join(FIXTURES, name), 'utf8');
      writeFileSync(path.join(root, name), text);
      const parsed = (() => {
        try {
          return parseMergekitConfig(text, name);
        } catch {
          return null;
        }
      })();
      const refs = parsed ? [...new Set([...(parsed.base ? [parsed.base] : []), ...parsed.slices.flatMap((s) => s.sources.map((src) => src.model))])] : [];
      refs.forEach((ref, k) => makeModel(ref, (t, i) => noise(1)(t, i) + 0.05 * k * Math.cos(i + k), 40, root));
      const r = await cli('merge', '--config', path.join(root, name), '--out', path.join(root, 'out'));
      if (name === 'della.yml' && !findMethod('della')) {
        expect(r.stderr).toMatch(/not supported yet/);
        return;
      }
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const merged = readOut(path.join(root, 'out'));
      const layers = name.startsWith('orcamini') ? 44 : 40;
      expect(merged.size).toBe(layers * 2 + 3);
      expect(JSON.parse(readFileSync(path.join(root, 'out', 'config.json'), 'utf8')).num_hidden_layers).toBe(layers);
      for (const data of merged.values()) expect(data.every(Number.isFinite)).toBe(true);
      // Streamed (the default) and --in-memory write the same files, bit for bit.
      expect(r.stdout).toContain(', streamed');
      const memory = await cli('merge', '--config', path.join(root, name), '--in-memory', '--out', path.join(root, 'out-memory'));
      expect(memory.code).toBe(0);
      const files = readdirSync(path.join(root, 'out-memory')).sort();
      expect(readdirSync(path.join(root, 'out')).sort()).toEqual(files);
      for (const f of files) expect(Buffer.compare(readFileSync(path.join(root, 'out', f)), readFileSync(path.join(root, 'out-memory', f)))).toBe(0);
    });
  }
});
