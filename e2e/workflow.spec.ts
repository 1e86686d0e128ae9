/**
 * The run panel as a user works it, mostly from the keyboard: load the sample, start a
 * run with Enter on the Start button, pause (nothing is scored while paused), resume,
 * watch the acceptance chart, scatter and accepted log fill, download a chart as CSV and
 * PNG, and switch to the dark theme (remembered on reload). Screenshots of each state go
 * to test-results/ for a look by eye.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { captureConsoleErrors, waitDone } from './helpers';

const GENERATIONS = 3;
const MODELS = 3;

async function offspringDone(page: Page): Promise<number> {
  return Number(await page.getByTestId('progress-text').getAttribute('data-done'));
}

async function download(page: Page, chart: string, name: RegExp): Promise<{ fileName: string; bytes: Buffer }> {
  const downloading = page.waitForEvent('download');
  await page.getByTestId(chart).getByRole('button', { name }).click();
  const file = await downloading;
  const bytes = readFileSync((await file.path())!);
  // Kept beside the screenshots, to look at.
  writeFileSync(`test-results/workflow-${file.suggestedFilename()}`, bytes);
  return { fileName: file.suggestedFilename(), bytes };
}

/** Relative luminance of a CSS rgb() colour (WCAG). */
function luminance(rgb: string): number {
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

test('pause and resume, live run charts, chart downloads, dark theme, keyboard', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/');
  await expect(page.getByTestId('compute-path')).toHaveText(/path/);
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  // Chart areas are drawn (empty) before any data, so nothing jumps when a run starts.
  for (const chart of ['fitness-chart', 'kinship-chart', 'acceptance-chart', 'offspring-scatter']) {
    await expect(page.getByTestId(chart)).toHaveAttribute('data-points', '0');
  }
  await page.screenshot({ path: 'test-results/workflow-1-empty.png', fullPage: true });

  // The drop zone opens the file picker from the keyboard, with Space and with Enter: each press
  // clicks the hidden multi-file input (whose click is what shows the browser's picker). The
  // clicks are counted, not let through: a headless browser shows one picker at a time, and
  // whether a keydown may open one has varied between runs.
  await page.getByTestId('file-input').evaluate((input) =>
    input.addEventListener('click', (event) => {
      event.preventDefault();
      input.dataset.opened = String(Number(input.dataset.opened ?? 0) + 1);
    }),
  );
  await expect(page.getByTestId('file-input')).toHaveAttribute('multiple', '');
  await page.getByTestId('drop-zone').focus();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('file-input')).toHaveAttribute('data-opened', '1');
  expect(await page.evaluate(() => window.scrollY)).toBe(0); // Space did not scroll the page
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('file-input')).toHaveAttribute('data-opened', '2');
  await expect(page.getByTestId('drop-zone')).toBeFocused();

  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(MODELS + 1);
  await page.getByLabel('Generations').fill(String(GENERATIONS));
  await page.screenshot({ path: 'test-results/workflow-2-loaded.png', fullPage: true });
  // Where the log sits in the run card: charts must not push it around as they fill.
  const logOffset = async () => (await page.getByTestId('accepted-log').boundingBox())!.y - (await page.locator('section', { has: page.locator('#run-title') }).boundingBox())!.y;
  const offsetBefore = await logOffset();

  // Tab from the settings to Start and start the run with Enter.
  const start = page.getByRole('button', { name: 'Start', exact: true });
  for (let i = 0; i < 40 && !(await start.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(start).toBeFocused();
  await page.locator('.run').screenshot({ path: 'test-results/workflow-2b-start-focused.png' });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'running');

  // Pause once offspring are being scored; the engine holds before its next score.
  await expect.poll(() => offspringDone(page), { timeout: 300_000 }).toBeGreaterThanOrEqual(1);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'paused');
  await expect(page.getByTestId('progress-text')).toContainText('Paused', { timeout: 120_000 });
  await expect(page.getByTestId('eta')).toContainText('ETA paused');
  const heldAt = await offspringDone(page);
  const heldText = await page.getByTestId('progress-text').textContent();
  expect(heldAt).toBeLessThan(GENERATIONS * MODELS);
  await page.waitForTimeout(2_000);
  expect(await offspringDone(page)).toBe(heldAt);
  expect(await page.getByTestId('progress-text').textContent()).toBe(heldText);
  await page.screenshot({ path: 'test-results/workflow-3-paused.png', fullPage: true });

  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'running');
  await expect.poll(() => offspringDone(page), { timeout: 300_000 }).toBeGreaterThan(heldAt);
  await expect(page.getByTestId('eta')).toContainText(/ETA (\d|estimating)/);
  await page.screenshot({ path: 'test-results/workflow-4-running.png', fullPage: true });
  await page.locator('.run').screenshot({ path: 'test-results/workflow-4b-run-panel.png' });
  await waitDone(page);
  await expect(page.getByTestId('progress-text')).toContainText(`${GENERATIONS * MODELS}/${GENERATIONS * MODELS} total`);
  await page.screenshot({ path: 'test-results/workflow-5-finished.png', fullPage: true });

  // The run charts and the log show the run: one bar per generation, one point per offspring.
  const accepted = Number((await page.getByTestId('progress-text').textContent())!.match(/(\d+) accepted/)![1]);
  await expect(page.getByTestId('acceptance-chart')).toHaveAttribute('data-points', String(GENERATIONS));
  await expect(page.getByTestId('offspring-scatter')).toHaveAttribute('data-points', String(GENERATIONS * MODELS));
  await expect(page.getByTestId('offspring-scatter').locator('.recharts-scatter-symbol')).toHaveCount(GENERATIONS * MODELS);
  await expect(page.getByTestId('accepted-log')).toHaveAttribute('data-rows', String(accepted));
  await expect(page.getByTestId('accepted-log').locator('tbody tr')).toHaveCount(accepted);
  // The page kept its layout: chart areas were reserved before the data came.
  expect(await logOffset()).toBe(offsetBefore);

  // The acceptance chart's series as CSV: one row per generation, accepted / offspring.
  const csv = await download(page, 'acceptance-chart', /Download CSV/);
  expect(csv.fileName).toBe('acceptance-rate-per-generation.csv');
  const [header, ...rows] = csv.bytes.toString('utf8').trim().split(/\r\n/).map((line) => line.split(','));
  expect(header).toEqual(['generation', 'offspring', 'accepted', 'acceptance_rate']);
  expect(rows.map((r) => Number(r[0]))).toEqual([1, 2, 3]);
  for (const [, offspring, acc, rate] of rows) {
    expect(Number(offspring)).toBe(MODELS);
    expect(Number(rate)).toBeCloseTo(Number(acc) / MODELS, 12);
  }
  expect(rows.reduce((sum, r) => sum + Number(r[2]), 0)).toBe(accepted);

  // The fitness chart as PNG: the signature, and twice the on-screen width (sharp when zoomed).
  const png = await download(page, 'fitness-chart', /Download PNG/);
  expect(png.fileName).toBe('fitness-per-generation.png');
  expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chartWidth = await page.getByTestId('fitness-chart').locator('.recharts-wrapper > svg').evaluate((svg) => Math.ceil(svg.getBoundingClientRect().width));
  expect(png.bytes.readUInt32BE(16)).toBe(chartWidth * 2);

  // Dark theme from the header toggle; remembered across a reload.
  const lightBackground = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Dark theme' })).toHaveAttribute('aria-pressed', 'true');
  const darkBackground = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  expect(luminance(lightBackground)).toBeGreaterThan(0.8);
  expect(luminance(darkBackground)).toBeLessThan(0.05);
  await page.screenshot({ path: 'test-results/workflow-6-dark.png', fullPage: true });
  const darkPng = await download(page, 'offspring-scatter', /Download PNG/);
  expect([...darkPng.bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('compute-path')).toHaveText(/path/);

  expect(errors).toEqual([]);
});
