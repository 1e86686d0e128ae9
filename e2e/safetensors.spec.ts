/**
 * A Hugging Face user's checkpoints: sharded BF16 safetensors folders (torch's names) plus
 * the one ONNX export of the architecture. The studio maps torch's names onto the graph
 * (12 of them renamed and transposed by the exporter, found by value), evolves, and every
 * export format is read back outside the browser: safetensors by the strict parser
 * (sharded, BF16, torch's names), the ONNX model by onnxruntime-web (the CLI's eval), the
 * recipe by running it again in the studio, the zip and model card by opening them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { expect, test, type Page } from '@playwright/test';
import { readSafetensors } from '../src/formats/safetensors-read';
import { tensorToFloat32 } from '../src/formats/safetensors-float';
import { captureConsoleErrors, dropFiles, sampleFile, sampleManifest, waitDone } from './helpers';

const SHARDED = path.resolve(import.meta.dirname, 'fixtures', 'sharded-bf16');

async function download(page: Page, button: string): Promise<{ name: string; bytes: Uint8Array; path: string }> {
  const pending = page.waitForEvent('download');
  await page.getByRole('button', { name: button }).click();
  const d = await pending;
  const file = (await d.path())!;
  return { name: d.suggestedFilename(), bytes: new Uint8Array(readFileSync(file)), path: file };
}

test('sharded BF16 safetensors + one ONNX graph: map, evolve, export every format and read it back', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  const m = sampleManifest();
  await page.goto('/');
  await dropFiles(page, '[data-testid="drop-zone"]', [sampleFile('base.onnx'), sampleFile(m.dev), sampleFile(m.heldout), sampleFile(m.tokenizer)]);
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(1);
  // "Choose a folder…": the four checkpoint folders at once.
  await page.getByTestId('folder-input').setInputFiles(SHARDED);
  const rows = page.getByTestId('checkpoints').locator('tbody tr');
  await expect(rows).toHaveCount(4);
  await expect(rows.first()).toContainText('safetensors BF16');
  await expect(rows.first()).toContainText('3 files');
  const mapping = page.getByTestId('graph-mapping');
  await expect(mapping).toContainText('base.onnx');
  await expect(mapping).toContainText('38 tensors mapped (26 by name, 12 by value against base; 12 transposed)');
  await expect(mapping).toContainText('nothing unmapped');
  await expect(page.getByTestId('problems')).toHaveCount(0);
  // A controlled checkbox: it turns on once the engine has the base.
  await page.getByLabel('Use base as the base model').click();
  await expect(page.getByLabel('Use base as the base model')).toBeChecked();
  await page.screenshot({ path: 'test-results/studio-safetensors-loaded.png', fullPage: true });

  await page.getByLabel('Generations').fill('1');
  await page.getByLabel('Seed').fill('3');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  const finalDev = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  expect(finalDev).toBeGreaterThan(0.9);

  // Sharded BF16 under torch's names (BF16 is preselected: the checkpoints' dtype).
  await expect(page.getByLabel('Weights dtype')).toHaveValue('BF16');
  await page.getByLabel('Shard size (MB)').fill('0.2');
  const sharded = await download(page, 'Export safetensors');
  expect(sharded.name).toBe('evolved-seed3-sharded.zip');
  const shards = unzipSync(sharded.bytes);
  const index = JSON.parse(new TextDecoder().decode(shards['model.safetensors.index.json'])) as { weight_map: Record<string, string> };
  const torchNames = Object.keys(index.weight_map);
  expect(torchNames).toHaveLength(38);
  expect(torchNames).toContain('layers.0.attn.q.weight');
  for (const shard of new Set(Object.values(index.weight_map))) {
    for (const t of readSafetensors(shards[shard]!, shard).tensors) {
      expect(t.dtype).toBe('BF16');
      expect(index.weight_map[t.name]).toBe(shard);
    }
  }

  // F32, one file: the same tensors unrounded.
  await page.getByLabel('Weights dtype').selectOption('F32');
  await page.getByLabel('Shard size (MB)').fill('0');
  const f32 = await download(page, 'Export safetensors');
  const f32File = readSafetensors(f32.bytes, f32.name);
  expect(f32File.tensors.map((t) => t.name).sort()).toEqual([...torchNames].sort());
  expect(f32File.tensors.find((t) => t.name === 'layers.0.attn.q.weight')!.shape).toEqual([48, 48]);
  expect(tensorToFloat32(f32File.tensors[0]!).some((x) => x !== 0)).toBe(true);

  // The merged ONNX model, scored by onnxruntime-web in Node: the dev score the studio showed.
  const onnx = await download(page, 'Export ONNX');
  expect(onnx.name).toBe('evolved-seed3.onnx');
  const evaluated = JSON.parse(
    execFileSync(process.execPath, ['bin/evolver-studio.mjs', 'eval', '--dev', `public/samples/${m.dev}`, '--tokenizer', `public/samples/${m.tokenizer}`, '--json', onnx.path], { encoding: 'utf8' }),
  ) as { metrics: { accuracy: number } };
  expect(evaluated.metrics.accuracy).toBe(finalDev);

  // Everything zipped, with the model card.
  const zip = unzipSync((await download(page, 'Export all (.zip)')).bytes);
  expect(Object.keys(zip).sort()).toEqual(['README.md', 'evolved-seed3.onnx', 'evolved-seed3.recipe.json', 'evolved-seed3.safetensors']);
  const card = new TextDecoder().decode(zip['README.md']);
  // No Hub id was given or found: base_model is left out, and the text names the base.
  expect(card).not.toContain('base_model');
  expect(card).toContain('base (task vectors are taken from it): base');
  expect(card).toContain(`${(100 * finalDev).toFixed(2)}%`);

  // The recipe, dropped into the studio after the settings were changed, re-runs the same model.
  const recipe = await download(page, 'Export recipe');
  expect(recipe.name).toBe('evolved-seed3.recipe.json');
  await page.getByLabel('Seed').fill('99');
  await page.getByLabel('Generations').fill('2');
  await dropFiles(page, '[data-testid="drop-zone"]', [{ name: recipe.name, bytes: Buffer.from(recipe.bytes) }]);
  await expect(page.getByLabel('Seed')).toHaveValue('3');
  await expect(page.getByLabel('Generations')).toHaveValue('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  const again = await download(page, 'Export safetensors');
  expect(Buffer.from(again.bytes).equals(Buffer.from(f32.bytes))).toBe(true);
  await page.screenshot({ path: 'test-results/studio-safetensors-exported.png', fullPage: true });

  // The dropped Files were stored as Blobs in IndexedDB: a reopened studio loads them again.
  await page.reload();
  await expect(page.getByTestId('stored-project')).toContainText('16 files');
  await page.getByRole('button', { name: 'Reload the files' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('graph-mapping')).toContainText('38 tensors mapped');
  await expect(page.getByLabel('Use base as the base model')).toBeChecked();
  expect(errors).toEqual([]);
});
