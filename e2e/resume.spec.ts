/**
 * A tab closed mid-run loses nothing but the evaluation in flight: the project is kept in
 * IndexedDB as the run goes, the reopened studio offers to resume, and the resumed run ends
 * byte for byte where an uninterrupted run with the same seed ends (the CLI runs that one).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, cliEvolveFromRecipe, waitDone } from './helpers';

test('reload mid-run, resume from the stored journal, and end as an uninterrupted run', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('storage-note')).toContainText('kept in this browser');
  await page.getByLabel('Generations').fill('4');
  await page.getByLabel('Seed').fill('13');
  await page.getByRole('button', { name: 'Start' }).click();
  // Close the tab (reload) once generation 1 is charted: the run is then mid-way.
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '2', { timeout: 120_000 });
  await page.reload();

  const offer = page.getByTestId('stored-project');
  await expect(offer).toContainText('stopped after');
  await page.screenshot({ path: 'test-results/studio-resume-offer.png' });
  const stored = Number(/stopped after (\d+) dev evaluations/.exec((await offer.textContent())!)![1]);
  expect(stored).toBeGreaterThanOrEqual(7); // 3 checkpoints + the merge + generation 1's 3 offspring
  await page.getByRole('button', { name: 'Resume the run' }).click();
  await waitDone(page);
  await expect(page.getByTestId('counters')).toContainText(`(${stored} replayed from the stored run)`);
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '5');

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const downloaded = (await (await downloadPromise).path())!;

  // The same recipe, uninterrupted, in the CLI: the same bytes.
  expect(cliEvolveFromRecipe(downloaded, 'resume-uninterrupted.safetensors', { withBase: true }).equals(readFileSync(downloaded))).toBe(true);

  // Deleting the stored data leaves nothing to offer on the next visit.
  await page.getByTestId('storage-note').getByRole('button', { name: 'Delete stored data' }).click();
  await expect(page.getByTestId('storage-note')).toContainText('Stored data deleted');
  await page.reload();
  await expect(page.getByRole('button', { name: 'Load sample' })).toBeEnabled();
  await page.waitForTimeout(500);
  await expect(page.getByTestId('stored-project')).toHaveCount(0);
  expect(errors).toEqual([]);
});
