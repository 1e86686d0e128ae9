/**
 * The studio's kernel threads: Web Workers nested in the engine worker, sharing the
 * population's memory. Shared memory needs the page cross-origin isolated (COOP/COEP,
 * vite.config.ts); elsewhere the kernels stay on the engine worker.
 */
import { markKernelThreadLost, setKernelThreads, type KernelThreadSpawner } from '../src/kernels/threads/kernel-threads';

const spawnWebKernelThreads: KernelThreadSpawner = (workers, memory, control) => {
  const threads = Array.from({ length: workers }, () => {
    const worker = new Worker(new URL('./kernel-thread.worker.ts', import.meta.url), { type: 'module', name: 'kernel-thread' });
    // A thread that fails is lost to the pool (its calls fail, later ones stay on the engine
    // worker); its error stays here instead of reaching the page as the engine's crash.
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      markKernelThreadLost(control);
    });
    worker.postMessage({ memory, control });
    return worker;
  });
  return {
    // The pool has told them to quit; terminate ends one that is still starting.
    close: () => threads.forEach((w) => w.terminate()),
  };
};

/** Splits the population's kernels over the cores where this worker can share memory. */
export function useWebKernelThreads(): void {
  const isolated = typeof crossOriginIsolated === 'boolean' && crossOriginIsolated;
  const cores = Math.min(8, navigator.hardwareConcurrency || 1);
  setKernelThreads(isolated ? cores : 1, isolated && cores > 1 ? spawnWebKernelThreads : null);
}
