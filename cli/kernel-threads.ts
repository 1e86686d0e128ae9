/**
 * The CLI's kernel threads: worker_threads sharing the population's memory (--threads N, the
 * same count evaluation uses: kernels and evaluation never run at once). Threads are unref'd,
 * so a run that forgets to dispose its population still exits.
 */
import { Worker } from 'node:worker_threads';
import { markKernelThreadLost, setKernelThreads, type KernelThreadSpawner } from '../src/kernels/threads/kernel-threads';

export const spawnNodeKernelThreads: KernelThreadSpawner = (workers, memory, control) => {
  let closing = false;
  const threads = Array.from({ length: workers }, () => {
    const w = new Worker(new URL('./kernel-thread-worker.mjs', import.meta.url), { workerData: { memory, control } });
    w.unref();
    // A thread that fails to start, or stops on its own (out of memory), is lost to the pool:
    // its calls fail rather than wait for its chunk, and later ones run on the caller alone.
    w.on('error', () => {});
    w.on('exit', () => {
      if (!closing) markKernelThreadLost(control);
    });
    return w;
  });
  return {
    close() {
      closing = true;
      // The pool has told them to quit; terminate ends one that is still starting.
      for (const w of threads) void w.terminate();
    },
  };
};

/** Populations made from now on split their kernels over `threads` (1: this thread alone). */
export function useNodeKernelThreads(threads: number): void {
  setKernelThreads(threads, threads > 1 ? spawnNodeKernelThreads : null);
}
