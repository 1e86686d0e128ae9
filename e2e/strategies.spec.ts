/**
 * Model kinship and the search strategies from the studio: the kinship heatmap of the
 * loaded sample, Top-k kinship merging ending in an exported model with its lineage,
 * then DE/rand/1 with jDE on an evaluation budget, exported too; and a short CMA-ES run
 * over the merge recipe with a validation slice, charted and exported.
 */
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, exportAndRead, waitDone } from './helpers';

test('kinship heatmap, Top-k kinship merging and DE/rand/1 + jDE, each exported', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);

  // The heatmap of the three experts, task vectors from the manifest's base model.
  const heatmap = page.getByTestId('kinship-heatmap');
  await expect(heatmap).toContainText('task vectors from base.onnx');
  await expect(heatmap.locator('tbody tr')).toHaveCount(3);
  const pearsonAB = Number(await page.getByTestId('kinship-0-1').getAttribute('data-value'));
  expect(pearsonAB).toBeGreaterThan(-1);
  expect(pearsonAB).toBeLessThan(1);
  expect(Number(await page.getByTestId('kinship-1-0').getAttribute('data-value'))).toBe(pearsonAB);
  await page.getByLabel('Kinship metric').selectOption('euclidean');
  expect(Number(await page.getByTestId('kinship-0-0').getAttribute('data-value'))).toBe(0);
  expect(Number(await page.getByTestId('kinship-0-1').getAttribute('data-value'))).toBeGreaterThan(0);
  await page.getByLabel('Kinship layer').selectOption('head');
  const headDistance = Number(await page.getByTestId('kinship-0-1').getAttribute('data-value'));
  await page.getByLabel('Kinship layer').selectOption('');
  expect(Number(await page.getByTestId('kinship-0-1').getAttribute('data-value'))).toBeGreaterThan(headDistance);
  await page.getByLabel('Kinship metric').selectOption('pearson');

  // Top-k merging with SLERP pairs.
  await page.getByLabel('Strategy').selectOption('kinship_topk');
  await page.getByLabel('Merge method').selectOption('slerp');
  await page.getByLabel('k', { exact: true }).fill('2');
  await page.getByLabel('Rounds').fill('3');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  await expect(page.getByTestId('lineage')).toBeVisible();
  await expect(page.getByTestId('lineage').locator('li').first()).toContainText(/^m\d+/);
  await expect(page.getByTestId('run-summary')).toContainText('Top-k kinship merging');
  expect(Number(await page.getByTestId('kinship-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
  // The heatmap now shows the top-k set (k = 2) after the last round.
  await expect(heatmap.locator('tbody tr')).toHaveCount(2);
  await expect(heatmap).toContainText('top-k set after round');
  const topk = await exportAndRead(page);
  expect(topk.name).toBe('topk-slerp.safetensors');
  const lineage = JSON.parse(topk.file.metadata.lineage!) as { name: string; parents: string[] | null }[];
  expect(lineage.find((l) => l.name === topk.file.metadata.lineage_result)!.parents).toHaveLength(2);
  const finalDev = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  const individualDev = await page.getByTestId('individual-dev-acc').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-value'))));
  expect(finalDev).toBeGreaterThanOrEqual(Math.max(...individualDev));

  // DE/rand/1 with self-adaptive F and CR, on a budget of 10 dev evaluations.
  await page.getByLabel('Strategy').selectOption('evolver');
  await page.getByLabel('Merge method').selectOption('linear');
  await page.getByLabel('Mutation').selectOption('rand1');
  await page.getByLabel('Self-adaptive F and CR (jDE)').check();
  await page.getByLabel('Generations').fill('10');
  await page.getByLabel('Evaluation budget').fill('10');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  await expect(page.getByTestId('run-summary')).toContainText('stopped on its evaluation budget');
  await expect(page.getByTestId('kinship-chart')).toBeVisible();
  const de = await exportAndRead(page);
  expect(JSON.parse(de.file.metadata.recipe!)).toMatchObject({ strategy: 'evolver', mutation: 'rand1', adaptive: true, budget: 10 });
  await page.screenshot({ path: 'test-results/studio-strategies.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('CMA-ES over the merge recipe with a validation slice, charted and exported with its recipe', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await page.getByLabel('Strategy').selectOption('cma_es');
  await page.getByLabel('Merge method').selectOption('linear');
  // The Evolver's own fields leave; CMA-ES's come.
  await expect(page.getByLabel('Mutation')).toHaveCount(0);
  await page.getByLabel('Layer groups').fill('2');
  await page.getByLabel('Generations').fill('1');
  await page.getByLabel('Evaluation budget').fill('8');
  await expect(page.getByLabel('Export', { exact: true })).toHaveCount(0);
  await page.getByLabel('Validation fraction').fill('0.25');
  await expect(page.getByLabel('Export', { exact: true })).toHaveValue('validation');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  const chart = page.getByTestId('fitness-chart');
  expect(Number(await chart.getAttribute('data-points'))).toBe(2);
  await expect(chart).toContainText('validation (result so far)');
  const cma = await exportAndRead(page);
  expect(JSON.parse(cma.file.metadata.recipe!)).toMatchObject({ strategy: 'cma_es', layerGroups: 2, validation: 0.25, budget: 8, merger: { method: 'linear' } });
  expect(errors).toEqual([]);
});
