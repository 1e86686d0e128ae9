/**
 * A CSV dev set with its own column names: the studio guesses the columns, the user corrects
 * them in the preview table, the class balance follows, a bad choice is refused by file name,
 * the dev scores match the sample's, and a reloaded project comes back with the same columns.
 */
import { expect, test, type Page } from '@playwright/test';
import { captureConsoleErrors, dropFiles, sampleFile, sampleManifest, waitDone } from './helpers';

/** The sample's dev.jsonl as a spreadsheet would export it: BOM, CRLF, every cell quoted, unusual columns. */
function sampleDevAsCsv(name: string): { name: string; bytes: Buffer } {
  const manifest = sampleManifest();
  const cell = (v: string | number) => `"${String(v).replace(/"/g, '""')}"`;
  const lines = sampleFile(manifest.dev)
    .bytes.toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const row = JSON.parse(l) as { text: string; label: number; domain: string };
      // "reviewed" is a second two-valued column before the real label, so the guess takes it.
      return [i + 1, row.text, i % 2, manifest.labels[row.label]!, row.domain].map(cell).join(',');
    });
  const header = ['id', 'message', 'reviewed', 'is_spam', 'source'].map(cell).join(',');
  return { name, bytes: Buffer.from('\uFEFF' + [header, ...lines].join('\r\n') + '\r\n', 'utf8') };
}

async function individualDevAccuracy(page: Page): Promise<Record<string, number>> {
  const rows = page.getByTestId('individual');
  const names = await rows.locator('td:first-child').allTextContents();
  const values = await page.getByTestId('individual-dev-acc').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-value'))));
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

test('CSV dev set: choose columns in the preview, evolve, and reload with the same columns', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  const manifest = sampleManifest();
  await page.goto('/');
  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('dataset')).toContainText(`${manifest.dev}: 588 rows (ham: 350, spam: 238)`);
  await expect(page.getByTestId('columns-dev')).toHaveCount(0);

  await dropFiles(page, '[data-testid="drop-zone"]', [sampleDevAsCsv('corpus.csv')]);
  const columns = page.getByTestId('columns-dev');
  await expect(columns).toContainText('Columns of corpus.csv (dev set)');
  const text = columns.getByLabel('Text column');
  const label = columns.getByLabel('Label column');
  const domain = columns.getByLabel('Domain column');
  // The guess: "message" by name; "reviewed", the first column with two values, as the label; no domain.
  await expect(text).toHaveValue('1');
  await expect(label).toHaveValue('2');
  await expect(domain).toHaveValue('');
  await expect(page.getByTestId('dataset')).toContainText('corpus.csv: 588 rows (ham: 294, spam: 294)');
  const preview = columns.getByTestId('column-preview');
  await expect(preview.locator('thead th')).toHaveText(['id', 'message (text)', 'reviewed (label)', 'is_spam', 'source']);
  await expect(preview.locator('tbody tr')).toHaveCount(5);

  // Correct the label column: the class balance follows.
  await label.selectOption({ label: 'is_spam' });
  await expect(page.getByTestId('dataset')).toContainText('corpus.csv: 588 rows (ham: 350, spam: 238)');
  await expect(preview.locator('thead th')).toHaveText(['id', 'message (text)', 'reviewed', 'is_spam (label)', 'source']);
  // The domain by keyboard: type-ahead on the focused select picks "source".
  await domain.focus();
  await domain.press('s');
  await expect(domain).toHaveValue('4');
  await expect(page.getByTestId('dataset')).toContainText('domains: easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2');
  await columns.screenshot({ path: 'test-results/studio-csv-columns.png' });

  // A label column whose values are no class names is refused by file name; the columns in use
  // stay (the domain too, which would have given "source" up to the label).
  await label.selectOption({ label: 'source' });
  await expect(page.getByTestId('problems')).toContainText('corpus.csv, line 2: unknown label "easy-ham-1" (expected one of "ham", "spam")');
  await expect(label).toHaveValue('3');
  await expect(domain).toHaveValue('4');
  await expect(page.getByTestId('dataset')).toContainText('corpus.csv: 588 rows (ham: 350, spam: 238)');
  // The next good choice clears the problem.
  await text.selectOption({ label: 'id' });
  await expect(preview.locator('thead th').first()).toHaveText('id (text)');
  await expect(page.getByTestId('problems')).toHaveCount(0);
  await text.selectOption({ label: 'message' });
  await expect(preview.locator('thead th')).toHaveText(['id', 'message (text)', 'reviewed', 'is_spam (label)', 'source (domain)']);

  // The experts score on the CSV rows as the sample says they score on its dev set.
  await page.getByLabel('Generations').fill('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  const scores = await individualDevAccuracy(page);
  for (const m of manifest.models.filter((x) => x.role !== 'base')) {
    const expected = (manifest as unknown as { scores: Record<string, { dev: number }> }).scores[m.file]!.dev;
    // torch and onnxruntime may disagree on a row whose logits tie: allow two rows of 588.
    expect(Math.abs(scores[m.file]! - expected)).toBeLessThanOrEqual(2 / 588 + 1e-9);
  }
  expect(Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'))).toBeGreaterThan(0.5);

  // The project comes back from this browser's store with the same columns.
  await page.reload();
  await page.getByRole('button', { name: 'Reload the files' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('dataset')).toContainText('corpus.csv: 588 rows (ham: 350, spam: 238)');
  await expect(page.getByTestId('dataset')).toContainText('domains: easy-ham-1');
  await expect(page.getByTestId('columns-dev').getByLabel('Label column')).toHaveValue('3');
  await expect(page.getByTestId('columns-dev').getByLabel('Domain column')).toHaveValue('4');
  expect(errors).toEqual([]);
});
