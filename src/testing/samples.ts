/**
 * Node-only: the bundled sample (public/samples) read from disk, for tests and tools.
 * The studio itself fetches the same files (state/actions.ts loadSample).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NamedBytes } from '../protocol/files';

export const SAMPLES = path.resolve(import.meta.dirname, '../../public/samples');
export const hasSamples = existsSync(path.join(SAMPLES, 'manifest.json'));

export interface SampleManifest {
  tokenizer: string;
  dev: string;
  heldout: string;
  labels: string[];
  models: { file: string; role: string }[];
}

export function sampleManifest(): SampleManifest {
  return JSON.parse(readFileSync(path.join(SAMPLES, 'manifest.json'), 'utf8')) as SampleManifest;
}

export function sampleBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(SAMPLES, name)));
}

/** The manifest, tokenizer, dev and held-out files and the checkpoints (the base too when asked). */
export function sampleFiles({ withBase = false }: { withBase?: boolean } = {}): NamedBytes[] {
  const manifest = sampleManifest();
  const models = manifest.models.filter((m) => withBase || m.role !== 'base').map((m) => m.file);
  return ['manifest.json', manifest.tokenizer, manifest.dev, manifest.heldout, ...models].map((name) => ({ name, bytes: sampleBytes(name) }));
}

/** The sample checkpoints as Hugging Face sharded BF16 safetensors (tools/fixtures/make_sharded_safetensors.py), one folder each. */
export const SHARDED_BF16 = path.resolve(import.meta.dirname, '../../e2e/fixtures/sharded-bf16');

/** A sharded checkpoint's files, named "<model>/<file>" as a folder drop names them. */
export function shardedCheckpointFiles(model: string): NamedBytes[] {
  const folder = path.join(SHARDED_BF16, model);
  return readdirSync(folder)
    .sort()
    .map((file) => ({ name: `${model}/${file}`, bytes: new Uint8Array(readFileSync(path.join(folder, file))) }));
}
