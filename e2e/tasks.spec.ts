/**
 * Multiple choice and token classification in the studio, each to an exported model: the task
 * guessed from the dropped rows (choices; tokens and tags), one generation, the task's metric in
 * the results, and safetensors the strict reader takes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { readSafetensors } from '../src/formats/safetensors-read';
import { captureConsoleErrors, dropFiles, waitDone } from './helpers';

const file = (p: string) => ({ name: path.basename(p), bytes: readFileSync(p) });

async function evolveAndExport(page: Page): Promise<void> {
  await page.getByLabel('Generations').fill('1');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitDone(page);
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const download = await downloadPromise;
  const exported = readSafetensors(new Uint8Array(readFileSync((await download.path())!)), download.suggestedFilename());
  expect(exported.tensors.length).toBeGreaterThan(0);
}

test('multiple choice and token classification, each guessed from its rows, evolved and exported', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  await page.goto('/');
  const lm = 'public/samples/lm';
  await dropFiles(page, '[data-testid="drop-zone"]', [...['easy-ham', 'hard-ham', 'spam'].map((d) => file(`${lm}/expert-${d}.onnx`)), file(`${lm}/mc-dev.jsonl`), file(`${lm}/tokenizer.json`)]);
  await expect(page.getByTestId('task')).toHaveValue('multiple-choice');
  await evolveAndExport(page);
  await expect(page.getByTestId('results')).toContainText('acc_norm');

  await page.getByRole('button', { name: 'New project', exact: true }).click();
  await page.getByRole('button', { name: 'Close this project' }).click();
  const fixtures = 'src/eval/fixtures/lm';
  await dropFiles(page, '[data-testid="drop-zone"]', [file(`${fixtures}/tagger-ham.onnx`), file(`${fixtures}/tagger-spam.onnx`), file(`${fixtures}/tagger-dev.jsonl`), file(`${fixtures}/tagger-config.json`), file(`${lm}/tokenizer.json`)]);
  await expect(page.getByTestId('task')).toHaveValue('token-classification');
  await evolveAndExport(page);
  await expect(page.getByTestId('results')).toContainText(/F1/);
  expect(errors).toEqual([]);
});
