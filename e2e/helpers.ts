/**
 * E2E helpers: console-error capture (any console error fails a test: ORT reports
 * WebGPU validation errors only there), real file drops through the drop zone,
 * and the bundled sample files read from disk.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
import { readSafetensors } from '../src/formats/safetensors-read';

export const SAMPLES = path.resolve(import.meta.dirname, '..', 'public', 'samples');

export interface SampleManifest {
  tokenizer: string;
  dev: string;
  heldout: string;
  labels: string[];
  models: { file: string; role: string; name?: string }[];
}

export function sampleManifest(): SampleManifest {
  return JSON.parse(readFileSync(path.join(SAMPLES, 'manifest.json'), 'utf8')) as SampleManifest;
}

export function sampleFile(name: string): { name: string; bytes: Buffer } {
  return { name, bytes: readFileSync(path.join(SAMPLES, name)) };
}

/** The files a user drags in: fine-tuned checkpoints, dev and held-out JSONL, tokenizer.json. */
export function sampleDrop(): { name: string; bytes: Buffer }[] {
  const m = sampleManifest();
  return [...m.models.filter((x) => x.role !== 'base').map((x) => x.file), m.dev, m.heldout, m.tokenizer].map(sampleFile);
}

export function captureConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('worker', (worker) =>
    worker.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`worker console: ${msg.text()}`);
    }),
  );
  return errors;
}

/** Drops files on an element the way a user's drag does: dragenter, dragover, drop with a DataTransfer of Files. */
export async function dropFiles(page: Page, selector: string, files: { name: string; bytes: Buffer }[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: f.bytes.toString('base64') }));
  const dataTransfer = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const item of items) {
      const binary = atob(item.b64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      dt.items.add(new File([bytes], item.name));
    }
    return dt;
  }, payload);
  for (const type of ['dragenter', 'dragover', 'drop']) await page.dispatchEvent(selector, type, { dataTransfer });
}

/** Waits for the run in progress to finish and checks it ended as done. */
export async function waitDone(page: Page): Promise<void> {
  // A run just asked for may still read idle (a resumed one replays its project first): wait
  // for it to end, not merely to be anything but running.
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', /^(done|stopped|failed)$/, { timeout: 540_000 });
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done');
}

/** Clicks Export, and reads the download back with the strict safetensors parser. */
export async function exportAndRead(page: Page) {
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const download = await downloadPromise;
  return { name: download.suggestedFilename(), file: readSafetensors(new Uint8Array(readFileSync((await download.path())!)), download.suggestedFilename()) };
}

/**
 * Every nth row of a sample file under another name: SwiftShader emulates the GPU, so the
 * WebGPU path scores a small dev set in these tests (the path is under test, not the scores).
 */
export function everyNthRow(name: string, asName: string, n: number): { name: string; bytes: Buffer } {
  const lines = sampleFile(name).bytes.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  return { name: asName, bytes: Buffer.from(lines.filter((_, i) => i % n === 0).join('\n') + '\n') };
}

/**
 * Runs the CLI's `evolve` on the sample's experts and data with a recipe (a studio export)
 * and returns the bytes it writes: an uninterrupted run to compare a studio run with.
 */
export function cliEvolveFromRecipe(recipe: string, outName: string, { withBase }: { withBase: boolean }): Buffer {
  const m = sampleManifest();
  const out = path.resolve('test-results', outName);
  const experts = m.models.filter((x) => x.role !== 'base').map((x) => `public/samples/${x.file}`);
  const base = withBase ? ['--base', 'public/samples/base.onnx'] : [];
  const data = ['--dev', `public/samples/${m.dev}`, '--heldout', `public/samples/${m.heldout}`, '--tokenizer', `public/samples/${m.tokenizer}`];
  execFileSync(process.execPath, ['bin/evolver-studio.mjs', 'evolve', '--recipe', recipe, ...base, ...data, '--out', out, ...experts], { stdio: 'pipe' });
  return readFileSync(out);
}
