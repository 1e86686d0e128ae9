/**
 * Nothing leaves the machine, and nothing in a user's files runs: a full session (sample
 * load, an Evolver run, a one-shot merge, an export) makes no request outside the page's
 * origin under a strict Content-Security-Policy, and file and domain names that look like
 * HTML are shown as text.
 */
import { expect, test } from '@playwright/test';
import { CONTENT_SECURITY_POLICY } from '../vite.config';
import { captureConsoleErrors, dropFiles, exportAndRead, sampleFile, waitDone } from './helpers';

test('a full session stays on its own origin under the CSP; HTML in names is text', async ({ page, baseURL }) => {
  const errors = captureConsoleErrors(page);
  const origin = new URL(baseURL!).origin;
  const foreign: string[] = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('blob:') && !url.startsWith('data:')) foreign.push(url);
  });
  page.on('dialog', (dialog) => {
    foreign.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });

  const response = await page.goto('/');
  expect(response!.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', CONTENT_SECURITY_POLICY);

  await page.getByRole('button', { name: 'Load sample' }).click();
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await page.getByLabel('Generations').fill('1');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitDone(page);
  await page.getByLabel('Merge method').selectOption('ties');
  await page.getByRole('button', { name: 'Merge once' }).click();
  await waitDone(page);
  const exported = await exportAndRead(page);
  expect(exported.file.tensors.length).toBe(38);

  // A checkpoint and a dev domain named like markup are displayed, never parsed.
  const evilName = '<img src=x onerror="window.__pwned=1">.onnx';
  const evilDomain = '<script>window.__pwned=2</script>';
  const dev = sampleFile('dev.jsonl').bytes.toString('utf8').split('\n').filter(Boolean).slice(0, 40)
    .map((line) => JSON.stringify({ ...JSON.parse(line), domain: evilDomain })).join('\n');
  await dropFiles(page, '[data-testid="drop-zone"]', [{ name: evilName, bytes: sampleFile('expert-a.onnx').bytes }, { name: 'evil-dev.jsonl', bytes: Buffer.from(dev) }]);
  await expect(page.getByTestId('checkpoints')).toContainText(evilName);
  await expect(page.getByTestId('dataset')).toContainText(evilDomain);
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();

  expect(foreign).toEqual([]);
  expect(errors).toEqual([]);
});
