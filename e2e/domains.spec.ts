/**
 * A dev set whose domains are numbers (`"domain": 1`, as Hugging Face datasets often give them)
 * loads with the numbers as domain names, and a one-shot merge's progress counts its evaluations:
 * the checkpoints and the merge, ending full and saying so rather than counting offspring.
 */
import { expect, test } from '@playwright/test';
import { captureConsoleErrors, dropFiles, sampleFile, sampleManifest, waitDone } from './helpers';

/** The sample's dev rows with integer domains: each group's number less one (easy-ham-2 → 1, spam-1 → 0). */
function devWithIntegerDomains(name: string): { name: string; bytes: Buffer } {
  const lines = sampleFile(sampleManifest().dev)
    .bytes.toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const row = JSON.parse(l) as { text: string; label: number; domain: string };
      return JSON.stringify({ ...row, domain: Number(/(\d+)$/.exec(row.domain)![1]) - 1 });
    });
  return { name, bytes: Buffer.from(lines.join('\n') + '\n', 'utf8') };
}

test('integer domains load as domain names; Merge once fills the bar with its evaluations', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);

  await dropFiles(page, '[data-testid="drop-zone"]', [devWithIntegerDomains('numbered.jsonl')]);
  await expect(page.getByTestId('dataset')).toContainText('numbered.jsonl: 588 rows (ham: 350, spam: 238)');
  await expect(page.getByTestId('dataset')).toContainText('domains: 0, 1');
  await expect(page.getByTestId('problems')).toHaveCount(0);

  await page.getByRole('button', { name: 'Merge once' }).click();
  await waitDone(page);
  const headers = page.getByTestId('checkpoint-domain-scores').locator('thead th');
  await expect(headers).toHaveText(['Dev accuracy by domain', /^0 \(\d+\)$/, /^1 \(\d+\)$/]);
  await expect(page.getByTestId('domain-scores').locator('thead th')).toHaveText(['Dev accuracy by domain', /^0 \(\d+\)$/, /^1 \(\d+\)$/]);

  await expect(page.getByTestId('progress-text')).toHaveText('Done · merged and scored');
  await expect(page.getByTestId('progress')).toHaveJSProperty('value', 1);
  const counters = page.getByTestId('counters');
  await expect(counters).toContainText('merged once, no search');
  await expect(counters).not.toContainText('offspring accepted');
  if (!(await counters.textContent())!.startsWith('WebGPU')) await expect(counters).not.toContainText('bytes read back from the GPU');
  await page.locator('section', { has: page.locator('#run-title') }).screenshot({ path: 'test-results/studio-merge-once-progress.png' });
  expect(errors).toEqual([]);
});
