/**
 * Responsive layout: with the sample loaded and one generation evolved (tables, the kinship
 * heatmap, charts and results all on the page), nothing is wider than the viewport from a
 * phone's 390 px up to a wide 1600 px screen (tables scroll in their card), and wide screens
 * use their room. Full-page screenshots land in test-results/layout-*.png.
 */
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, waitDone } from './helpers';

test('no horizontal scroll from 390 to 1600 px, light and dark; settings beside the charts on wide screens', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('kinship-heatmap').locator('tbody tr')).toHaveCount(3);
  await page.getByLabel('Generations').fill('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  await expect(page.getByTestId('fitness-chart')).toHaveAttribute('data-points', '2');

  const scrollWidths: Record<string, number> = {};
  const measure = async (width: number, name: string) => {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300); // charts resize on a ResizeObserver tick
    scrollWidths[name] = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.screenshot({ path: `test-results/${name}.png`, fullPage: true });
  };
  await measure(390, 'layout-390');
  // On a phone the drop zone takes the card's width (its text reads in lines, not a word a
  // line), and the checkpoint table scrolls inside its card.
  expect((await page.getByTestId('drop-zone').boundingBox())!.width).toBeGreaterThan(300);
  const table = await page.getByTestId('checkpoints').evaluate((el) => ({ overflow: getComputedStyle(el).overflowX, scroll: el.scrollWidth, client: el.clientWidth }));
  expect(table.overflow).toBe('auto');
  expect(table.scroll).toBeGreaterThan(table.client);
  for (const width of [768, 1280, 1600]) await measure(width, `layout-${width}`);
  // Wide screens put the run settings beside the charts.
  const settings = (await page.getByLabel('Generations').boundingBox())!;
  const chart = (await page.getByTestId('fitness-chart').boundingBox())!;
  expect(chart.x).toBeGreaterThan(settings.x + settings.width);
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await measure(390, 'layout-390-dark');

  console.log(`scrollWidth: ${JSON.stringify(scrollWidths)}`);
  for (const [name, scroll] of Object.entries(scrollWidths)) expect(scroll, name).toBeLessThanOrEqual(Number(/\d+/.exec(name)![0]));
  expect(errors).toEqual([]);
});
