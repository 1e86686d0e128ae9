/**
 * The project a practitioner keeps open: a finished run survives a reload (its result, charts
 * and exports, the same bytes); a drop that cannot join the project offers a new one; a file
 * dropped again asks before it replaces; help opens by keyboard and links to the guide.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { captureConsoleErrors, dropFiles, sampleDrop, sampleFile, waitDone } from './helpers';

async function exportBytes(page: Page): Promise<Buffer> {
  const downloadPromise = page.waitForEvent('download', { timeout: 240_000 });
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  return readFileSync((await (await downloadPromise).path())!);
}

test('a finished run reloaded shows its result, settings and charts, and exports the same bytes', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await dropFiles(page, '[data-testid="drop-zone"]', sampleDrop());
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(3);
  await page.getByLabel('Generations').fill('1');
  await page.getByLabel('Seed').fill('11');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitDone(page);
  const finalDev = await page.getByTestId('final-dev-acc').getAttribute('data-value');
  const points = await page.getByTestId('fitness-chart').getAttribute('data-points');
  const before = await exportBytes(page);

  await page.reload();
  const offer = page.getByTestId('stored-project');
  await expect(offer).toContainText('a finished Evolver run (seed 11');
  // The form shows the stored run's settings before anything is reloaded.
  await expect(page.getByLabel('Seed')).toHaveValue('11');
  await page.getByRole('button', { name: 'Show the result' }).click();
  await expect(page.getByTestId('final-dev-acc')).toHaveAttribute('data-value', finalDev!);
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', points!);
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('result-from-store')).toBeVisible();
  const after = await exportBytes(page);
  expect(Buffer.compare(after, before)).toBe(0);
  await expect(page.getByTestId('result-from-store')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('another architecture dropped offers a new project; a file dropped again asks before it replaces; help by keyboard', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await dropFiles(page, '[data-testid="drop-zone"]', sampleDrop());
  const rows = page.getByTestId('checkpoints').locator('tbody tr');
  await expect(rows).toHaveCount(3);

  // The same checkpoint again: asked first; keeping the loaded one changes nothing.
  await dropFiles(page, '[data-testid="drop-zone"]', [sampleFile('expert-a.onnx')]);
  const question = page.getByTestId('drop-question');
  await expect(question).toContainText('Already loaded: expert-a.onnx');
  await page.getByRole('button', { name: 'Keep the loaded ones' }).click();
  await expect(question).toHaveCount(0);
  await expect(rows).toHaveCount(3);
  await dropFiles(page, '[data-testid="drop-zone"]', [sampleFile('expert-a.onnx')]);
  await page.getByRole('button', { name: 'Replace' }).click();
  await expect(rows).toHaveCount(3);
  await expect(page.getByTestId('problems')).toHaveCount(0);

  // Checkpoints of another model: refused, and a new project is offered; nothing is lost until then.
  const tiny = readFileSync('src/formats/fixtures/tiny-classifier.onnx');
  await dropFiles(page, '[data-testid="drop-zone"]', [
    { name: 'other-a.onnx', bytes: tiny },
    { name: 'other-b.onnx', bytes: tiny },
  ]);
  await expect(question).toContainText('cannot join the loaded ones');
  await expect(rows).toHaveCount(3);
  await page.getByRole('button', { name: 'Open them as a new project' }).click();
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('checkpoints')).toContainText('other-a.onnx');
  await expect(page.getByTestId('checkpoints')).not.toContainText('expert-a.onnx');

  // New project, confirmed: everything closes.
  await page.getByRole('button', { name: 'New project', exact: true }).click();
  await page.getByRole('button', { name: 'Close this project' }).click();
  await expect(page.getByTestId('checkpoints')).toHaveCount(0);

  // Help: the "i" opens by keyboard, and its link opens the guide at the section.
  const info = page.locator('[data-help-for="Seed"]');
  await expect(info).toHaveAccessibleName('Help');
  await info.focus();
  await page.keyboard.press('Enter');
  await expect(info).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByRole('note').filter({ hasText: 'One seed reproduces' })).toBeVisible();
  await page.getByRole('note').getByRole('link', { name: 'Guide' }).click();
  await expect(page.getByTestId('guide')).toHaveAttribute('open', '');
  await expect(page.locator('#guide-selection')).toBeInViewport();
  expect(errors).toEqual([]);
});
