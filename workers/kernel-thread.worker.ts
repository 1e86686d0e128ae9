/**
 * A kernel thread of the engine worker's population (src/kernels/threads/kernel-threads.ts),
 * nested in it: given the population's shared memory and the pool's control buffer, it runs
 * chunks of the DE step and the linear merges until the pool closes.
 */
import { kernelThreadLoop } from '../src/kernels/threads/kernel-threads';

self.addEventListener(
  'message',
  (event: MessageEvent<{ memory: WebAssembly.Memory; control: SharedArrayBuffer }>) => {
    kernelThreadLoop(event.data.memory, event.data.control);
    self.close();
  },
  { once: true },
);
