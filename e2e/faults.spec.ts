/**
 * Faults injected during a run: the engine worker crashing (an uncaught error in the
 * worker) and the GPU device being lost. The studio restarts the worker and resumes the
 * run from the journal stored in IndexedDB; a lost device sends the run on to the WASM
 * path with its population rebuilt by replay. Nothing the user loaded is lost.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { captureConsoleErrors, cliEvolveFromRecipe, dropFiles, everyNthRow, sampleManifest, waitDone } from './helpers';

function engineWorker(page: Page) {
  const worker = page.workers().find((w) => w.url().includes('engine.worker'));
  if (!worker) throw new Error(`no engine worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  return worker;
}

test('the engine worker crashes mid-run: restarted, the run resumes and ends as an uninterrupted run', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await page.getByLabel('Generations').fill('6');
  await page.getByLabel('Seed').fill('17');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '2', { timeout: 120_000 });
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'running');
  // Thrown from a microtask: an uncaught error in the worker right away, while it is mid-run.
  await engineWorker(page).evaluate(() => {
    queueMicrotask(() => {
      throw new Error('injected engine crash');
    });
  });
  await expect(page.getByTestId('recovery')).toContainText('The engine stopped unexpectedly (Uncaught Error: injected engine crash) and was restarted; the run resumes');
  await waitDone(page);
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('counters')).toContainText('replayed from the stored run');

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const downloaded = (await (await downloadPromise).path())!;
  expect(cliEvolveFromRecipe(downloaded, 'crash-uninterrupted.safetensors', { withBase: true }).equals(readFileSync(downloaded))).toBe(true);
  // The injected error is the only console error.
  expect(errors.filter((e) => !e.includes('injected engine crash'))).toEqual([]);
});

test('the GPU device is lost mid-run: the run goes on to the end on the WASM path', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByLabel('Compute path').selectOption('webgpu');
  await expect(page.getByTestId('compute-path')).toHaveText('WebGPU path');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  const m = sampleManifest();
  await dropFiles(page, '[data-testid="drop-zone"]', [everyNthRow(m.dev, 'dev-small.jsonl', 12), everyNthRow(m.heldout, 'heldout-small.jsonl', 12)]);
  await expect(page.getByTestId('dataset')).toContainText('dev-small.jsonl: 49 rows');
  await page.getByLabel('Generations').fill('2');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '1', { timeout: 300_000 });
  // The next command encoder anyone asks for destroys the device: the population's buffers are gone.
  await engineWorker(page).evaluate(() => {
    const original = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, ...args: Parameters<GPUDevice['createCommandEncoder']>) {
      GPUDevice.prototype.createCommandEncoder = original;
      this.destroy();
      return original.apply(this, args);
    };
  });
  await expect(page.getByTestId('device-lost')).toContainText('the GPU device was lost', { timeout: 300_000 });
  await waitDone(page);
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '3');
  await expect(page.getByTestId('counters')).toContainText('WASM path');
  await expect(page.getByTestId('compute-path')).toHaveText('WASM path');
  const finalDev = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  const startDev = Number(await page.getByTestId('initial-merge-dev-acc').getAttribute('data-value'));
  expect(finalDev).toBeGreaterThanOrEqual(startDev);
  expect(errors).toEqual([]);
});

test('Stop during a long run takes effect at once and keeps the best found so far', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await page.getByLabel('Generations').fill('200');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '2', { timeout: 120_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'stopped', { timeout: 10_000 });
  await expect(page.getByTestId('run-summary')).toContainText('stopped by you');
  expect(Number(await page.getByTestId('fitness-chart').getAttribute('data-points'))).toBeLessThan(10);
  const finalDev = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  expect(finalDev).toBeGreaterThanOrEqual(Number(await page.getByTestId('initial-merge-dev-acc').getAttribute('data-value')));
  expect(errors).toEqual([]);
});
