/**
 * Merge methods from the studio: the Evolver with the RegMean merger for one
 * generation (the paper's Evolver + RegMean), then a one-shot TIES merge against
 * the sample's base model, each exported and read back strictly.
 */
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, exportAndRead, waitDone } from './helpers';

test('Evolver + RegMean for one generation, then a one-shot TIES merge', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);

  await page.getByLabel('Merge method').selectOption('regmean');
  await page.getByLabel('α').fill('0.9');
  await page.getByLabel('Generations').fill('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '2');
  await expect(page.getByTestId('final')).toContainText('evolved merge (RegMean (α 0.9))');
  const initial = Number(await page.getByTestId('initial-merge-dev-acc').getAttribute('data-value'));
  const evolved = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  expect(evolved).toBeGreaterThanOrEqual(initial);
  const regmean = await exportAndRead(page);
  expect(regmean.name).toBe('evolved-seed42.safetensors');
  expect(JSON.parse(regmean.file.metadata.recipe)).toMatchObject({ strategy: 'evolver', mode: 'merged', merger: { method: 'regmean', alpha: 0.9 } });

  await page.getByLabel('Merge method').selectOption('ties');
  await page.getByLabel('Density').fill('0.5');
  // A malformed per-tensor rule is named and blocks the merge; a valid one is applied.
  await page.getByLabel('Per-tensor rules').fill('{"density": "high"}');
  await expect(page.getByRole('alert').filter({ hasText: 'density: expected a number' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Merge once' })).toBeDisabled();
  await page.getByLabel('Per-tensor rules').fill('{"density": [0.3, 0.7]}');
  await expect(page.getByRole('button', { name: 'Merge once' })).toBeEnabled();
  await page.getByRole('button', { name: 'Merge once' }).click();
  await waitDone(page);
  await expect(page.getByTestId('final')).toContainText('TIES (density 0.5, λ 1) with per-tensor density');
  expect(Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'))).toBeGreaterThan(0.9);
  const ties = await exportAndRead(page);
  expect(ties.name).toBe('merged-ties.safetensors');
  expect(JSON.parse(ties.file.metadata.recipe)).toMatchObject({ strategy: 'merge', base: 'base.onnx', merger: { method: 'ties', density: 0.5, rules: { density: [0.3, 0.7] } } });
  await page.screenshot({ path: 'test-results/studio-merge-ties.png', fullPage: true });
  expect(errors).toEqual([]);
});
