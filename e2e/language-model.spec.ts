/**
 * The language-model sample as a user walks it: load it, see the task guessed as causal LM,
 * evolve two generations with the average merger, watch the NLL charted per generation with
 * "lower is better", and export safetensors the strict reader takes.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { readSafetensors } from '../src/formats/safetensors-read';
import { captureConsoleErrors, waitDone } from './helpers';

test('language-model sample: causal LM guessed, two generations charted lower-is-better, exported', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load language-model sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('task')).toHaveValue('causal-lm');
  await expect(page.getByTestId('dataset')).toContainText('Sequence length 64');

  await page.getByLabel('Generations').fill('2');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitDone(page);

  const chart = page.getByTestId('fitness-chart');
  await expect(chart).toHaveAttribute('data-points', '3');
  await expect(chart).toContainText('lower is better');
  // The result is no worse than where the search started (lower NLL is better), and shows perplexity.
  const start = Number(await page.getByTestId('initial-merge-dev-acc').getAttribute('data-value'));
  const final = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  expect(final).toBeLessThanOrEqual(start);
  await expect(page.getByTestId('final')).toContainText(/\d+\.\d{4}/);
  await expect(page.getByRole('columnheader', { name: /ppl|perplexity/i }).first()).toBeVisible();

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const download = await downloadPromise;
  const file = readSafetensors(new Uint8Array(readFileSync((await download.path())!)), download.suggestedFilename());
  expect(file.tensors.length).toBeGreaterThan(10);
  expect(JSON.parse(file.metadata.recipe!).strategy).toBe('evolver');
  expect(errors).toEqual([]);
});
