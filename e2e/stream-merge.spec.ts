/**
 * Merge to file (StreamMergePanel): generated BF16 checkpoints picked as files, merged tensor
 * by tensor from their Blobs with a chunk budget lowered by a test setting (so tensors go in
 * row bands), downloaded (the Blob-parts sink, forced by a test setting), and checked against
 * the CLI's streamed merge of the same files: the same tensors, bit for bit. The size is said
 * before it starts, and what the in-memory path would hold against the WASM heap (lowered by a
 * test setting below the set's in-memory size, so the set stands for one past the real limit).
 * The merge runs in its own worker (the page's thread only picks, plans and downloads): one
 * stream-merge worker starts for it and is terminated when it ends, and it hands TIES' whole
 * tensors to nested tensor-merge workers.
 * Needs the panel mounted in App.tsx (data-testid "stream-merge").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { writeTypedSafetensors, type TypedTensor } from '../src/export/result-export';
import { readSafetensors } from '../src/formats/safetensors-read';
import { captureConsoleErrors } from './helpers';

const BIN = path.resolve(import.meta.dirname, '../bin/evolver-studio.mjs');

/** A checkpoint of ~15 MB in BF16: an embedding of 1M parameters and 24 layers of 262K. */
function checkpoint(seed: number | null): Uint8Array {
  const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001 + k) * 0.05 + (seed === null ? 0 : Math.sin(i * 0.37 + seed * 1.7 + k) * 0.01));
  const tensors: TypedTensor[] = [
    { name: 'model.embed_tokens.weight', shape: [2048, 512], dtype: 'BF16', data: wave(2048 * 512, 0) },
    ...Array.from({ length: 24 }, (_, l): TypedTensor => ({ name: `model.layers.${l}.mlp.weight`, shape: [512, 512], dtype: 'BF16', data: wave(512 * 512, l + 1) })),
    { name: 'position_ids', shape: [1, 4], dtype: 'I64', bytes: new Uint8Array(BigInt64Array.from([0n, 1n, 2n, 3n]).buffer) },
  ];
  return writeTypedSafetensors(tensors, { format: 'pt' });
}

test('merge to file: streamed from the picked Blobs, the CLI\'s tensors bit for bit', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = captureConsoleErrors(page);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evolver-e2e-stream-'));
  try {
    const names = ['base', 'expert-a', 'expert-b', 'expert-c'];
    const files = names.map((n, i) => {
      const file = path.join(dir, `${n}.safetensors`);
      writeFileSync(file, checkpoint(i === 0 ? null : i));
      return file;
    });
    const cliOut = path.join(dir, 'cli.safetensors');
    execFileSync(process.execPath, [BIN, 'merge', '--method', 'ties', '--density', '0.5', '--base', files[0]!, '--device', 'cpu', '--out', cliOut, ...files.slice(1)]);

    await page.goto('/');
    await page.evaluate(() => {
      localStorage.setItem('evolver.streamChunkBytes', String(1 << 20));
      localStorage.setItem('evolver.streamSink', 'blob');
      // The set stands for one larger than the WASM heap: the limit is lowered below what Merge once would hold.
      localStorage.setItem('evolver.wasmHeapBytes', String(64e6));
    });
    await page.reload();
    // The merger: TIES at density 0.5 (the form above the panel).
    await page.getByLabel('Merge method').selectOption('ties');
    await page.getByLabel('Density').fill('0.5');

    const panel = page.getByTestId('stream-merge');
    await panel.getByTestId('stream-merge-files').setInputFiles(files);
    await panel.getByTestId('stream-merge-base').selectOption('base');
    await expect(panel.getByTestId('stream-merge-plan')).toContainText(/4 checkpoints .* with ties: the file will be \d+(\.\d)? MB/);
    // 3 experts of 7.34M parameters: 6 float32 copies in memory, over the lowered heap; streamed, TIES takes
    // each tensor whole: the 4 MiB embedding of 4 inputs and the output, twice (one merging, the next read).
    await expect(panel.getByTestId('stream-merge-memory')).toHaveText(/need about 176\.2 MB of float32 copies, more than the 64\.0 MB a WASM heap holds; merged to file, about 41\.9 MB at a time/);
    const mergeWorkers: { url: string; closed: boolean; alive: () => Promise<boolean> }[] = [];
    const poolWorkers: string[] = [];
    page.on('worker', (worker) => {
      if (worker.url().includes('tensor-merge')) poolWorkers.push(worker.url());
      if (!worker.url().includes('stream-merge')) return;
      // Terminated: its close event, or (where that event is late) a worker that no longer answers.
      const seen = { url: worker.url(), closed: false, alive: () => worker.evaluate(() => true).catch(() => false) };
      mergeWorkers.push(seen);
      worker.on('close', () => (seen.closed = true));
    });
    const downloadPromise = page.waitForEvent('download');
    await panel.getByTestId('stream-merge-run').click();
    const download = await downloadPromise;
    await expect(panel.getByTestId('stream-merge-done')).toContainText('Merged 25 of 25 tensors');
    await expect(panel.getByTestId('stream-merge-progress')).toContainText('tensor 25/25');
    expect(mergeWorkers).toHaveLength(1);
    // TIES takes tensors whole: they went to the merge worker's own pool of nested workers.
    expect(poolWorkers.length).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => mergeWorkers[0]!.closed || !(await mergeWorkers[0]!.alive())).toBe(true);
    const got = readSafetensors(new Uint8Array(readFileSync((await download.path())!)), 'studio');
    const want = readSafetensors(new Uint8Array(readFileSync(cliOut)), 'cli');
    // Metadata names the sources as each front end does (file vs checkpoint name); tensors are the same.
    expect(got.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(want.tensors.map((t) => [t.name, t.dtype, t.shape]));
    for (const [i, t] of got.tensors.entries()) expect(Buffer.compare(Buffer.from(t.data), Buffer.from(want.tensors[i]!.data))).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
