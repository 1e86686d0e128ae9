/**
 * The vertical slice as a user walks it: drop the sample checkpoints and dev set,
 * run two generations, watch the chart grow, export, and check the downloaded
 * safetensors strictly and by re-scoring it outside the browser.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { readSafetensors } from '../src/formats/safetensors-read';
import { tensorToFloat32 } from '../src/formats/safetensors-float';
import { readOnnx } from '../src/formats/onnx-read';
import { parseJsonl, encodeDataset } from '../src/eval/dataset';
import { loadTokenizer } from '../src/eval/tokenize';
import { scoreWeights } from '../src/eval/score-checkpoint';
import { captureConsoleErrors, cliEvolveFromRecipe, dropFiles, sampleDrop, sampleFile, sampleManifest } from './helpers';

async function chartPoints(page: Page): Promise<number> {
  return Number(await page.getByTestId('fitness-chart').getAttribute('data-points'));
}

async function runAndWatchChart(page: Page, generations: number): Promise<number[]> {
  await page.getByLabel('Generations').fill(String(generations));
  await page.getByRole('button', { name: 'Start' }).click();
  const seen: number[] = [];
  const deadline = Date.now() + 540_000;
  for (;;) {
    const status = await page.getByTestId('run-status').getAttribute('data-status');
    const points = await chartPoints(page);
    if (seen[seen.length - 1] !== points) seen.push(points);
    if (status !== 'running') {
      expect(status).toBe('done');
      return seen;
    }
    if (Date.now() > deadline) throw new Error(`run did not finish; chart points seen: ${seen.join(',')}`);
    await page.waitForTimeout(200);
  }
}

test('drop samples, evolve 2 generations on the WASM path, export and re-score', async ({ page }) => {
  const errors = captureConsoleErrors(page);
  // The page is cross-origin isolated, so the population's kernels get threads of their own.
  const kernelThreads: string[] = [];
  page.on('worker', (worker) => {
    if (worker.url().includes('kernel-thread')) kernelThreads.push(worker.url());
  });
  await page.goto('/');
  await expect(page.getByTestId('compute-path')).toHaveText(/path/);
  const { isolated, cores } = await page.evaluate(() => ({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency }));
  expect(isolated).toBe(true);

  await dropFiles(page, '[data-testid="drop-zone"]', sampleDrop());
  const manifest = sampleManifest();
  const experts = manifest.models.filter((m) => m.role !== 'base');
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(experts.length);
  await expect(page.getByTestId('dataset')).toContainText('Held-out');

  // A broken file is reported by name and loses nothing already loaded.
  await dropFiles(page, '[data-testid="drop-zone"]', [{ name: 'broken.onnx', bytes: Buffer.from('this is not a protobuf model at all') }]);
  await expect(page.getByTestId('problems')).toContainText('broken.onnx');
  await expect(page.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(experts.length);

  const seen = await runAndWatchChart(page, 2);
  // The chart grew while the run went on: generation 0, 1, 2.
  expect(seen[seen.length - 1]).toBe(3);
  expect(seen.filter((p) => p > 0).length).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('progress-text')).toContainText('6/6 total');
  if (cores > 1) expect(kernelThreads.length).toBeGreaterThanOrEqual(1);

  const finalDev = Number(await page.getByTestId('final-dev-acc').getAttribute('data-value'));
  const counters = await page.getByTestId('counters').textContent();
  expect(counters).toContain('sessions created during run: 0');

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export safetensors' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/\.safetensors$/);
  const downloaded = (await download.path())!;
  const bytes = new Uint8Array(readFileSync(downloaded));

  // Strict parse; names and shapes as in the checkpoint; recipe and seed in metadata.
  const file = readSafetensors(bytes, download.suggestedFilename());
  const graph = sampleFile(experts[0].file);
  const model = readOnnx(new Uint8Array(graph.bytes), graph.name);
  const floats = model.initializers.filter((i) => i.floats !== null);
  expect(file.tensors.map((t) => t.name)).toEqual(floats.map((i) => i.name));
  for (const [i, t] of file.tensors.entries()) {
    expect(t.dtype).toBe('F32');
    expect(t.shape).toEqual(floats[i].dims);
  }
  expect(file.metadata.seed).toBe('42');
  expect(JSON.parse(file.metadata.recipe)).toMatchObject({ strategy: 'evolver', generations: 2, f: 0.5, cr: 0.5 });

  // Re-scoring the export outside the browser reproduces the dev score shown.
  const tokenizer = loadTokenizer(readFileSync(`public/samples/${manifest.tokenizer}`, 'utf8'), manifest.tokenizer);
  const rows = parseJsonl(readFileSync(`public/samples/${manifest.dev}`, 'utf8'), manifest.dev);
  const seq = model.inputs[0].dims[1] as number;
  const dataset = encodeDataset(rows, { fileName: manifest.dev, tokenizer, sequenceLength: seq, padId: tokenizer.padId ?? 0, labelCount: 2, labels: manifest.labels });
  const weights = file.tensors.map((t) => ({ name: t.name, data: tensorToFloat32(t) }));
  const rescored = await scoreWeights(new Uint8Array(graph.bytes), graph.name, weights, dataset);
  expect(rescored.metrics.accuracy).toBeCloseTo(finalDev, 6);

  // The evolved merge is at least as good on dev as the best single checkpoint.
  const individualDev = await page.getByTestId('individual-dev-acc').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-value'))));
  expect(individualDev).toHaveLength(experts.length);
  expect(finalDev).toBeGreaterThanOrEqual(Math.max(...individualDev));
  await page.screenshot({ path: 'test-results/studio-wasm-done.png', fullPage: true });

  // The studio's recipe re-runs in the CLI on the same files to the same bytes.
  expect(cliEvolveFromRecipe(downloaded, 'cli-rerun.safetensors', { withBase: false }).equals(Buffer.from(bytes))).toBe(true);
  expect(errors).toEqual([]);
});
