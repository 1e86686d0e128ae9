/**
 * The CLI's kernel threads: worker_threads sharing the population's memory (--threads N, the
 * same count evaluation uses: kernels and evaluation never run at once). Threads are unref'd,
 * so a run that forgets to dispose its population still exits.
 */
import { Worker } from 'node:worker_threads';
import { setKernelThreads, type KernelThreadSpawner } from '../src/kernels/threads/kernel-threads';

export const spawnNodeKernelThreads: KernelThreadSpawner = (workers, memory, control) => {
  const threads = Array.from({ length: workers }, () => {
    const w = new Worker(new URL('./kernel-thread-worker.mjs', import.meta.url), { workerData: { memory, control } });
    w.unref();
    return w;
  });
  // A thread that fails to start claims no chunk: the caller runs them all.
  for (const w of threads) w.on('error', () => {});
  return {
    close() {
      // The pool has told them to quit; terminate ends one that is still starting.
      for (const w of threads) void w.terminate();
    },
  };
};

/** Populations made from now on split their kernels over `threads` (1: this thread alone). */
export function useNodeKernelThreads(threads: number): void {
  setKernelThreads(threads, threads > 1 ? spawnNodeKernelThreads : null);
}
