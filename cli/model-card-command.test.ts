/**
 * The model card's "Reproduce" command, run as written: the studio's engine makes a result
 * and its card, the files go into a folder under the names the studio knew them by (as the
 * user dropped them), and the command from the card's sh block runs there with the CLI. An
 * evolved result comes back byte for byte; a one-shot merge of sharded BF16 safetensors
 * (folders as arguments, a base) comes back tensor for tensor.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MergeEngine } from '../src/engine/engine';
import { readSafetensors } from '../src/formats/safetensors-read';
import { DEFAULT_MERGE, DEFAULT_SETTINGS } from '../src/protocol/settings';
import type { NamedBytes } from '../src/protocol/files';
import { hasSamples, sampleBytes, sampleFiles, shardedCheckpointFiles } from '../src/testing/samples';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/evolver-studio.mjs');

/** The words of the card's command, after `npx evolver-studio` (the card quotes nothing here: plain paths). */
function cardCommand(card: string): string[] {
  const block = /```sh\n(.+)\n```/.exec(card);
  expect(block, 'the card has an sh block').not.toBeNull();
  const words = block![1]!.split(' ');
  expect(words.slice(0, 2)).toEqual(['npx', 'evolver-studio']);
  return words.slice(2);
}

function writeDrop(files: readonly NamedBytes[], extra: readonly { fileName: string; bytes: Uint8Array }[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evolver-card-'));
  for (const f of [...files.map((f) => ({ fileName: f.name, bytes: f.bytes })), ...extra]) {
    mkdirSync(path.dirname(path.join(dir, f.fileName)), { recursive: true });
    writeFileSync(path.join(dir, f.fileName), f.bytes);
  }
  return dir;
}

function textOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

describe.skipIf(!hasSamples)("the model card's reproduce command", () => {
  it('re-runs an evolved result from the card, byte for byte', async () => {
    const files = sampleFiles();
    const engine = new MergeEngine();
    await engine.init('wasm');
    await engine.addFiles(files);
    await engine.run({ ...DEFAULT_SETTINGS, generations: 1, seed: 7 }, () => undefined);
    const weights = await engine.exportFile({ kind: 'safetensors', dtype: 'F32', shardBytes: 0, names: 'source' });
    const recipe = await engine.exportFile({ kind: 'recipe', dtype: 'F32', shardBytes: 0, names: 'source' });
    const card = textOf((await engine.exportFile({ kind: 'model-card', dtype: 'F32', shardBytes: 0, names: 'source' })).bytes);
    expect(card).not.toContain('base_model');

    const args = cardCommand(card);
    expect(args).toEqual(expect.arrayContaining(['--tokenizer', 'tokenizer.json', '--heldout', 'heldout.jsonl', '--out', weights.fileName, '--recipe', recipe.fileName]));
    const dir = writeDrop(files, [recipe]);
    await run(process.execPath, [BIN, ...args], { cwd: dir, maxBuffer: 64 << 20 });
    expect(Buffer.compare(readFileSync(path.join(dir, weights.fileName)), weights.bytes)).toBe(0);
  }, 120_000);

  it('re-runs a one-shot merge of sharded safetensors with a base from the card, tensor for tensor; base_model from config.json', async () => {
    const checkpoints = ['expert-a', 'expert-b', 'expert-c', 'base'].flatMap(shardedCheckpointFiles);
    const config = { name: 'base/config.json', bytes: new TextEncoder().encode(JSON.stringify({ _name_or_path: 'acme/spam-base', model_type: 'bert' })) };
    const files = [...sampleFiles().slice(1, 4), { name: 'base.onnx', bytes: sampleBytes('base.onnx') }, ...checkpoints, config];
    const engine = new MergeEngine();
    await engine.init('wasm');
    const loaded = await engine.addFiles(files);
    expect(loaded.problems).toEqual([]);
    await engine.setBase('base');
    await engine.merge({ ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 0.9, weights: [1, 0.5, 0.75] }, () => undefined);
    const weights = await engine.exportFile({ kind: 'safetensors', dtype: 'F32', shardBytes: 0, names: 'source' });
    const card = textOf((await engine.exportFile({ kind: 'model-card', dtype: 'F32', shardBytes: 0, names: 'source' })).bytes);
    expect(card).toMatch(/^base_model: acme\/spam-base$/m);

    const args = cardCommand(card);
    expect(args.slice(0, 3)).toEqual(['merge', '--method', 'task_arithmetic']);
    expect(args).toEqual(expect.arrayContaining(['--base', 'base', '--lambda', '0.9', '--weights', '1,0.5,0.75', '--dtype', 'F32', 'expert-a', 'expert-b', 'expert-c']));
    const dir = writeDrop(files, []);
    await run(process.execPath, [BIN, ...args], { cwd: dir, maxBuffer: 64 << 20 });
    const ours = readSafetensors(weights.bytes, weights.fileName);
    const theirs = readSafetensors(new Uint8Array(readFileSync(path.join(dir, weights.fileName))), weights.fileName);
    expect(theirs.tensors.map((t) => t.name).sort()).toEqual(ours.tensors.map((t) => t.name).sort());
    for (const tensor of ours.tensors) {
      const other = theirs.tensors.find((t) => t.name === tensor.name)!;
      expect([other.dtype, other.shape], tensor.name).toEqual([tensor.dtype, tensor.shape]);
      expect(Buffer.compare(Buffer.from(other.data), Buffer.from(tensor.data)), tensor.name).toBe(0);
    }
  }, 120_000);
});
