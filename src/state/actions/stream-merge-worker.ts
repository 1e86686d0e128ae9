/**
 * One stream-merge worker per "Merge to file" (workers/stream-merge.worker.ts), started for the
 * merge and terminated when it ends, however it ends: the worker holds tensors and Blob parts
 * the page should not keep. A worker that dies (it failed to load, or wasm ran out of memory)
 * fails the merge with its reason instead of leaving it waiting.
 * Imports comlink and the worker's message types.
 */
import { wrap, type Remote } from 'comlink';
import type { StreamMergeWorkerApi } from './stream-merge-worker-api';

export async function inStreamMergeWorker<T>(use: (api: Remote<StreamMergeWorkerApi>) => Promise<T>): Promise<T> {
  const worker = new Worker(new URL('../../../workers/stream-merge.worker.ts', import.meta.url), { type: 'module', name: 'stream-merge' });
  const died = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event) => reject(new Error(`The merge's worker stopped: ${event.message || 'it could not start'}.`)));
    worker.addEventListener('messageerror', () => reject(new Error("The merge's worker sent a message that could not be read.")));
  });
  try {
    return await Promise.race([use(wrap<StreamMergeWorkerApi>(worker)), died]);
  } finally {
    worker.terminate();
  }
}
