/**
 * The CLI as a user runs it: `node bin/evolver-studio.mjs <command>` on the bundled
 * sample, in a child process, checking exit codes, files written and numbers against
 * the engine the studio runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MergeEngine } from '../src/engine/engine';
import { DEFAULT_MERGE } from '../src/protocol/settings';
import { readSafetensors } from '../src/formats/safetensors-read';
import { tensorToFloat32 } from '../src/formats/safetensors-float';
import { hasSamples, SAMPLES, SHARDED_BF16, sampleFiles } from '../src/testing/samples';
import { cliProcess as cli } from './cli-testing';

const sample = (name: string) => path.join(SAMPLES, name);
const EXPERTS = ['expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx'].map(sample);
const DATA = ['--dev', sample('dev.jsonl'), '--tokenizer', sample('tokenizer.json')];


const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-cli-'));

describe.skipIf(!hasSamples)('evolver-studio CLI on the sample', () => {
  it('prints help for every command and refuses unknown commands and flags with exit code 2', async () => {
    const overview = await cli('--help');
    expect(overview.code).toBe(0);
    for (const command of ['inspect', 'merge', 'evolve', 'kinship', 'eval']) {
      expect(overview.stdout).toContain(command);
      const help = await cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: evolver-studio ${command}`);
    }
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const flag = await cli('merge', '--methd', 'ties');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--methd/);
  });

  it('inspect lists tensors and parameters; bad files fail with exit code 1 naming the file', async () => {
    const { code, stdout } = await cli('inspect', '--json', sample('expert-a.onnx'));
    expect(code).toBe(0);
    const [report] = JSON.parse(stdout) as { format: string; parameters: number; tensors: { name: string; dtype: string; shape: number[] }[]; graph: { opset: number } }[];
    expect(report!.format).toBe('onnx');
    expect(report!.parameters).toBe(233_186);
    expect(report!.tensors).toHaveLength(38);
    expect(report!.tensors[0]).toMatchObject({ name: 'tok.weight', dtype: 'F32', shape: [4000, 48] });
    expect(report!.graph.opset).toBe(17);

    const missing = await cli('inspect', path.join(tmp, 'nope.onnx'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.onnx: no such file');
    const notAModel = await cli('inspect', sample('dev.jsonl'));
    expect(notAModel.code).toBe(1);
    expect(notAModel.stderr).toContain('dev.jsonl: is not a checkpoint');
  });

  it('merge (TIES against the base) writes the same tensors as the engine, and eval scores them as the engine does', async () => {
    const out = path.join(tmp, 'ties.safetensors');
    const merged = await cli('merge', '--method', 'ties', '--base', sample('base.onnx'), '--density', '0.5', '--device', 'cpu', '--out', out, ...EXPERTS);
    expect(merged.code).toBe(0);
    const file = readSafetensors(new Uint8Array(readFileSync(out)), out);
    expect(JSON.parse(file.metadata.recipe!)).toMatchObject({ strategy: 'merge', merger: { method: 'ties', density: 0.5 }, base: 'base.onnx' });

    const engine = new MergeEngine();
    await engine.init('wasm');
    await engine.addFiles(sampleFiles({ withBase: true }));
    const result = await engine.merge({ ...DEFAULT_MERGE, method: 'ties', density: 0.5 }, () => {});
    const reference = readSafetensors((await engine.exportSafetensors()).bytes, 'engine');
    expect(file.tensors.map((t) => t.name)).toEqual(reference.tensors.map((t) => t.name));
    file.tensors.forEach((t, i) => expect(Buffer.from(t.data).equals(Buffer.from(reference.tensors[i]!.data))).toBe(true));

    const scored = await cli('eval', ...DATA, '--graph', sample('expert-a.onnx'), '--json', out);
    expect(scored.code).toBe(0);
    const scores = JSON.parse(scored.stdout) as { metrics: { accuracy: number; macroF1: number }; size: number };
    expect(scores.size).toBe(588);
    expect(scores.metrics.accuracy).toBe(result.final.dev.metrics.accuracy);
    expect(scores.metrics.macroF1).toBe(result.final.dev.metrics.macroF1);

    // BF16 output reads back within bfloat16 rounding.
    const bf16 = path.join(tmp, 'ties-bf16.safetensors');
    expect((await cli('merge', '--method', 'ties', '--base', sample('base.onnx'), '--density', '0.5', '--dtype', 'BF16', '--device', 'cpu', '--out', bf16, ...EXPERTS)).code).toBe(0);
    const half = readSafetensors(new Uint8Array(readFileSync(bf16)), bf16);
    expect(half.tensors[0]!.dtype).toBe('BF16');
    const [a, b] = [tensorToFloat32(half.tensors[0]!), tensorToFloat32(file.tensors[0]!)];
    for (let i = 0; i < a.length; i += 997) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(Math.abs(b[i]!) / 128);
  });

  it('merge refuses what it cannot do, naming the problem', async () => {
    const out = path.join(tmp, 'x.safetensors');
    const noBase = await cli('merge', '--method', 'ties', '--out', out, ...EXPERTS);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toContain('--base');
    const noDev = await cli('merge', '--method', 'regmean', '--out', out, ...EXPERTS);
    expect(noDev.code).toBe(2);
    expect(noDev.stderr).toContain('needs --dev');
    const weights = await cli('merge', '--method', 'linear', '--weights', '1,2', '--out', out, ...EXPERTS);
    expect(weights.code).toBe(2);
    expect(weights.stderr).toContain('2 weights for 3 models');
    const otherArch = await cli('merge', '--method', 'linear', '--out', out, sample('expert-a.onnx'), path.resolve(import.meta.dirname, '../src/formats/fixtures/tiny-classifier.onnx'));
    expect(otherArch.code).toBe(1);
    expect(otherArch.stderr).toContain('tiny-classifier.onnx: not the same architecture as expert-a.onnx');
  });

  it('kinship prints the engine\'s matrix (4+ decimals) and its JSON', async () => {
    const text = await cli('kinship', '--base', sample('base.onnx'), '--device', 'cpu', ...EXPERTS);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('task vectors from base.onnx');
    expect(text.stdout).toMatch(/Pearson correlation[\s\S]*cosine similarity[\s\S]*Euclidean distance/);
    const json = await cli('kinship', '--base', sample('base.onnx'), '--device', 'cpu', '--json', ...EXPERTS);
    const report = JSON.parse(json.stdout) as { overall: { pearson: number }[][]; names: string[] };
    const engine = new MergeEngine();
    await engine.init('wasm');
    await engine.addFiles(sampleFiles({ withBase: true }));
    const want = await engine.kinship();
    expect(report.names).toEqual(want.names);
    expect(report.overall[0]![1]!.pearson).toBeCloseTo(want.overall[0]![1]!.pearson, 12);
    expect(text.stdout).toContain(want.overall[0]![1]!.pearson.toFixed(6));
  });

  it('evolve prints its table, writes the result and recipe, and the recipe re-runs to the same bytes', async () => {
    const out = path.join(tmp, 'evolved.safetensors');
    const first = await cli('evolve', ...DATA, '--heldout', sample('heldout.jsonl'), '--strategy', 'de-rand-1', '--generations', '2', '--seed', '5', '--out', out, ...EXPERTS);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/generation\s+best %\s+mean %\s+merged %/);
    expect(first.stdout).toContain('evolved merge (simple average)');
    const recipe = JSON.parse(readFileSync(path.join(tmp, 'evolved.recipe.json'), 'utf8')) as Record<string, unknown>;
    expect(recipe).toMatchObject({ strategy: 'evolver', mutation: 'rand1', generations: 2, seed: 5 });

    const again = path.join(tmp, 'again.safetensors');
    const rerun = await cli('evolve', ...DATA, '--heldout', sample('heldout.jsonl'), '--recipe', path.join(tmp, 'evolved.recipe.json'), '--json', '--out', again, ...EXPERTS);
    expect(rerun.code).toBe(0);
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true);
    const report = JSON.parse(rerun.stdout) as { history: unknown[]; final: { dev: { metrics: { accuracy: number } } }; initialMerge: { dev: { metrics: { accuracy: number } } } };
    expect(report.history).toHaveLength(3);
    expect(report.final.dev.metrics.accuracy).toBeGreaterThanOrEqual(report.initialMerge.dev.metrics.accuracy);

    const topk = await cli('evolve', ...DATA, '--strategy', 'kinship-topk', '--merger', 'slerp', '--top-k', '2', '--generations', '2', '--json', '--out', path.join(tmp, 'topk.safetensors'), ...EXPERTS);
    expect(topk.code).toBe(0);
    expect((JSON.parse(topk.stdout) as { lineage: { nodes: unknown[] } }).lineage.nodes.length).toBeGreaterThan(3);
    const bad = await cli('evolve', ...DATA, '--strategy', 'kinship-topk', '--merger', 'regmean', '--out', path.join(tmp, 'y.safetensors'), ...EXPERTS);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Top-k merging merges merged models again');
  });

  it('evolve takes sharded safetensors folders with their ONNX graph, and says when the graph is missing', async () => {
    const folder = (m: string) => path.join(SHARDED_BF16, m);
    const out = path.join(tmp, 'sharded.safetensors');
    const run = await cli('evolve', ...DATA, '--graph', sample('base.onnx'), '--base', folder('base'), '--generations', '1', '--seed', '2', '--json', '--out', out, folder('expert-a'), folder('expert-b'), folder('expert-c'));
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { individuals: { name: string }[]; final: { dev: { metrics: { accuracy: number } } } };
    expect(report.individuals.map((m) => m.name)).toEqual(['expert-a', 'expert-b', 'expert-c']);
    expect(report.final.dev.metrics.accuracy).toBeGreaterThan(0.9);
    const file = readSafetensors(new Uint8Array(readFileSync(out)), out);
    expect(file.tensors.map((t) => t.name)).toContain('layers.1.ff2.weight'); // torch's names, as they came in
    expect(JSON.parse(file.metadata.recipe!)).toMatchObject({ base: 'base', sources: ['expert-a', 'expert-b', 'expert-c'] });
    // merge and inspect take the folders too (no graph needed: they work on tensors).
    const merged = path.join(tmp, 'ties-sharded.safetensors');
    const merge = await cli('merge', '--method', 'ties', '--base', folder('base'), '--density', '0.5', '--dtype', 'BF16', '--out', merged, folder('expert-a'), folder('expert-b'), folder('expert-c'));
    expect(merge.stderr).not.toMatch(/^(?!error: XDG_RUNTIME_DIR).*(error|warn)/im); // Dawn's XDG note aside
    expect(merge.code).toBe(0);
    const mergedFile = readSafetensors(new Uint8Array(readFileSync(merged)), merged);
    expect(mergedFile.tensors.find((t) => t.name === 'layers.0.attn.q.weight')).toMatchObject({ dtype: 'BF16', shape: [48, 48] });
    const inspect = await cli('inspect', folder('expert-a'), path.join(folder('expert-b'), 'model.safetensors.index.json'));
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain('expert-a');
    expect(inspect.stdout).toContain('BF16');
    const noGraph = await cli('evolve', ...DATA, '--out', path.join(tmp, 'x.safetensors'), folder('expert-a'), folder('expert-b'));
    expect(noGraph.code).toBe(1);
    expect(noGraph.stderr).toContain('expert-a/model.safetensors.index.json: safetensors checkpoints run on the ONNX graph of their architecture');
  });

  it('evolve --journal resumes an interrupted run to the same bytes and refuses another run\'s journal', async () => {
    const journal = path.join(tmp, 'run.journal');
    const args = ['evolve', ...DATA, '--strategy', 'jde', '--generations', '2', '--seed', '3', '--subset', '120', '--journal', journal];
    const whole = await cli(...args, '--out', path.join(tmp, 'whole.safetensors'), ...EXPERTS);
    expect(whole.code).toBe(0);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ journal: 1, settings: { seed: 3, mutation: 'rand1', adaptive: true } });
    // As if killed mid-run: the header, six scores and half a line being written.
    const cut = path.join(tmp, 'cut.journal');
    writeFileSync(cut, `${lines.slice(0, 7).join('\n')}\n${lines[7]!.slice(0, 10)}`);
    const resumed = await cli(...args.slice(0, -1), cut, '--json', '--out', path.join(tmp, 'resumed.safetensors'), ...EXPERTS);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as { counters: { replayedEvaluations: number } }).counters.replayedEvaluations).toBe(6);
    expect(readFileSync(path.join(tmp, 'resumed.safetensors')).equals(readFileSync(path.join(tmp, 'whole.safetensors')))).toBe(true);
    // The resumed run dropped the half line and stored the rest: its journal is the whole run's.
    expect(readFileSync(cut, 'utf8')).toBe(readFileSync(journal, 'utf8'));

    const other = await cli('evolve', ...DATA, '--generations', '2', '--seed', '4', '--journal', journal, '--out', path.join(tmp, 'other.safetensors'), ...EXPERTS);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('the journal belongs to another run');
  });
});
