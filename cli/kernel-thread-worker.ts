/**
 * A worker thread of a population's kernels (src/kernels/threads/kernel-threads.ts): runs
 * chunks of the DE step and the linear merges on the shared memory it was given, until the
 * pool closes.
 */
import { workerData } from 'node:worker_threads';
import { kernelThreadLoop } from '../src/kernels/threads/kernel-threads';

const { memory, control } = workerData as { memory: WebAssembly.Memory; control: SharedArrayBuffer };
kernelThreadLoop(memory, control);
