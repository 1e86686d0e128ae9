/**
 * The WebGPU path on Chromium's SwiftShader adapter (forced: auto would choose WASM
 * on a software adapter). Proves the zero-copy offspring loop for real: WGSL
 * mutation/crossover on the GPU, weights fed to onnxruntime-web as GPU buffers on
 * the same device, no session created and no weight byte read back during the run.
 */
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, dropFiles, everyNthRow, sampleManifest } from './helpers';

test('forced WebGPU path: one generation with zero sessions and zero weight read-back per offspring, then TIES and RegMean merges', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('compute-path')).toHaveText(/path/);
  await page.getByLabel('Compute path').selectOption('webgpu');
  await expect(page.getByTestId('compute-path')).toHaveText('WebGPU path');

  // The bundled sample, loaded the way a first-time user does.
  await page.getByRole('button', { name: 'Load sample' }).click();
  // Three experts plus the base model, which the sample manifest marks as the base.
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByLabel('Use base.onnx as the base model')).toBeChecked();
  // Kinship of the loaded experts, reduced by the WGSL kinship kernel on this device.
  await expect(page.getByTestId('kinship-heatmap').locator('tbody tr')).toHaveCount(3);
  const pearson = Number(await page.getByTestId('kinship-0-1').getAttribute('data-value'));
  expect(pearson).toBeGreaterThan(-1);
  expect(pearson).toBeLessThan(1);
  const manifest = sampleManifest();
  await dropFiles(page, '[data-testid="drop-zone"]', [everyNthRow(manifest.dev, 'dev-small.jsonl', 12), everyNthRow(manifest.heldout, 'heldout-small.jsonl', 12)]);
  await expect(page.getByTestId('dataset')).toContainText('dev-small.jsonl: 49 rows');
  await expect(page.getByTestId('dataset')).toContainText('heldout-small.jsonl');
  await page.getByLabel('Generations').fill('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done', { timeout: 540_000 });

  const counters = await page.getByTestId('counters').textContent();
  expect(counters).toContain('WebGPU path');
  expect(counters).toContain('sessions created during run: 0');
  expect(counters).toContain('bytes read back from the GPU during run: 0');
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '2');
  const finalDev = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  expect(finalDev).toBeGreaterThan(0.5);
  await page.screenshot({ path: 'test-results/studio-webgpu-done.png', fullPage: true });

  // A one-shot TIES merge against the base runs on the GPU too (radix-select trim, sign election).
  await page.getByLabel('Merge method').selectOption('ties');
  await page.getByRole('button', { name: 'Merge once' }).click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done', { timeout: 540_000 });
  await expect(page.getByTestId('final')).toContainText('TIES');
  await expect(page.getByTestId('counters')).toContainText('WebGPU path');
  expect(Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'))).toBeGreaterThan(0.5);

  // RegMean on the GPU: Gram matrices captured once, then the fixed-Gram linear operator.
  await page.getByLabel('Merge method').selectOption('regmean');
  await page.getByRole('button', { name: 'Merge once' }).click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done', { timeout: 540_000 });
  await expect(page.getByTestId('final')).toContainText('RegMean');
  await expect(page.getByTestId('counters')).toContainText('WebGPU path');
  expect(Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'))).toBeGreaterThan(0.5);
  expect(errors).toEqual([]);
});
