/**
 * A recipe written by the CLI re-runs in the studio: dropped with the same files, it sets
 * the search, and the studio's export is byte-for-byte the CLI's result (WASM path).
 * (The other direction, studio → CLI, is checked at the end of evolve.spec.ts.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, dropFiles, sampleDrop, sampleManifest, waitDone } from './helpers';

test('a CLI recipe dropped into the studio reproduces the CLI result bit for bit', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  const manifest = sampleManifest();
  const experts = manifest.models.filter((m) => m.role !== 'base').map((m) => `public/samples/${m.file}`);
  const out = path.resolve('test-results', 'cli-recipe-source.safetensors');
  const data = ['--dev', `public/samples/${manifest.dev}`, '--heldout', `public/samples/${manifest.heldout}`, '--tokenizer', `public/samples/${manifest.tokenizer}`];
  execFileSync(process.execPath, ['bin/evolver-studio.mjs', 'evolve', ...data, '--strategy', 'de-best-1', '--generations', '1', '--seed', '11', '--cr', '0.3', '--out', out, ...experts], { stdio: 'pipe' });
  const recipePath = out.replace(/\.safetensors$/, '.recipe.json');

  await page.goto('/');
  await dropFiles(page, '[data-testid="drop-zone"]', [...sampleDrop(), { name: 'cli-run.recipe.json', bytes: readFileSync(recipePath) }]);
  await expect(page.getByTestId('recipe-source')).toContainText('cli-run.recipe.json');
  await expect(page.getByLabel('Mutation')).toHaveValue('best1');
  await expect(page.getByLabel('Seed')).toHaveValue('11');
  await expect(page.getByLabel('CR', { exact: true })).toHaveValue('0.3');
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(3);

  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const studioBytes = readFileSync((await (await downloadPromise).path())!);
  expect(studioBytes.equals(readFileSync(out))).toBe(true);

  // A broken recipe is reported by name and changes nothing.
  await dropFiles(page, '[data-testid="drop-zone"]', [{ name: 'bad.recipe.json', bytes: Buffer.from(JSON.stringify({ strategy: 'evolver', seed: 1, merger: { method: 'frobnicate' } })) }]);
  await expect(page.getByTestId('problems')).toContainText('bad.recipe.json: unknown merge method');
  await expect(page.getByLabel('Seed')).toHaveValue('11');
  expect(errors).toEqual([]);
});
