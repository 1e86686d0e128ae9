/**
 * Every task through the CLI to an exported model: `evolve` on the language-model sample's
 * multiple-choice rows (guessed from the rows) and on the case-restoration taggers (named with
 * --task, labels from --labels), each writing a safetensors file whose recipe names the run,
 * with the task's own metrics in --json.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../src/formats/safetensors-read';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/evolver-studio.mjs');
const LM = path.join(ROOT, 'public/samples/lm');
const FIX = path.join(ROOT, 'src/eval/fixtures/lm');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-tasks-'));

async function evolve(args: string[]): Promise<{ json: { final: { dev: { task: string; metrics: Record<string, number> } }; individuals: unknown[] }; out: string }> {
  const out = path.join(tmp, `${args.at(-1)!.replace(/\W/g, '_')}.safetensors`);
  const { stdout } = await run(process.execPath, [BIN, 'evolve', '--generations', '1', '--threads', '1', '--json', '--out', out, ...args], { maxBuffer: 64 << 20 });
  return { json: JSON.parse(stdout), out };
}

describe.skipIf(!existsSync(FIX))('evolve for every task', () => {
  it('multiple choice, guessed from the rows: acc and acc_norm, an exported model', async () => {
    const { json, out } = await evolve(['--dev', path.join(LM, 'mc-dev.jsonl'), '--heldout', path.join(LM, 'mc-heldout.jsonl'), '--tokenizer', path.join(LM, 'tokenizer.json'), ...['easy-ham', 'hard-ham', 'spam'].map((d) => path.join(LM, `expert-${d}.onnx`))]);
    expect(json.final.dev.task).toBe('multiple-choice');
    for (const key of ['acc', 'acc_norm']) expect(json.final.dev.metrics[key]).toBeGreaterThan(0);
    const file = readSafetensors(new Uint8Array(readFileSync(out)), out);
    expect(JSON.parse(file.metadata.recipe!).strategy).toBe('evolver');
  }, 240_000);

  it('token classification, named with --task, tag names from --labels: entity F1, an exported model', async () => {
    const { json, out } = await evolve(['--task', 'token-classification', '--labels', path.join(FIX, 'tagger-config.json'), '--dev', path.join(FIX, 'tagger-dev.jsonl'), '--tokenizer', path.join(LM, 'tokenizer.json'), path.join(FIX, 'tagger-ham.onnx'), path.join(FIX, 'tagger-spam.onnx')]);
    expect(json.final.dev.task).toBe('token-classification');
    expect(json.final.dev.metrics.f1).toBeGreaterThan(0);
    expect(readSafetensors(new Uint8Array(readFileSync(out)), out).tensors.length).toBeGreaterThan(0);
  }, 240_000);
});
