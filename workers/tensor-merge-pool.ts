/**
 * The browser's TensorMergePool (src/merge/stream-merge.ts): nested Web Workers
 * (tensor-merge.worker.ts), each merging one whole tensor at a time, so the kernels of TIES,
 * DARE, SLERP, model stock… run on several cores while the stream-merge worker reads and
 * writes. Inputs are transferred, results come back encoded; the bytes are one thread's (the
 * same runMergeJob). Workers start as jobs arrive (a merge that never hands one over starts
 * none) and each holds one more tensor set while it merges.
 * Imports the merge's pool interface and the nested worker's reply type.
 */
import type { MergeJob, TensorMergePool } from '../src/merge/stream-merge';
import type { TensorMergeReply } from './tensor-merge.worker';

interface Waiting {
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

function named(error: { message: string; name: string }): Error {
  const err = new Error(error.message);
  err.name = error.name;
  return err;
}

export class WebWorkerMergePool implements TensorMergePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly backlog: { job: MergeJob; waiting: Waiting }[] = [];
  private readonly waiting = new Map<number, Waiting & { worker: Worker }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(readonly size: number) {}

  merge(job: MergeJob): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.backlog.push({ job, waiting: { resolve, reject } });
      this.dispatch();
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./tensor-merge.worker.ts', import.meta.url), { type: 'module', name: 'tensor-merge' });
    worker.addEventListener('message', (event: MessageEvent<TensorMergeReply>) => this.settle(event.data));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.failAll(new Error(`A merge worker stopped: ${event.message || 'it could not start'}.`));
    });
    this.workers.push(worker);
    return worker;
  }

  private dispatch(): void {
    while (this.backlog.length > 0 && (this.idle.length > 0 || this.workers.length < this.size)) {
      const worker = this.idle.pop() ?? this.start();
      const { job, waiting } = this.backlog.shift()!;
      const id = this.nextId++;
      this.waiting.set(id, { ...waiting, worker });
      const buffers = [...new Set(job.inputs.map((a) => a.buffer as ArrayBuffer))];
      worker.postMessage({ id, job }, buffers);
    }
  }

  private settle(reply: TensorMergeReply): void {
    const w = this.waiting.get(reply.id);
    if (!w) return;
    this.waiting.delete(reply.id);
    this.idle.push(w.worker);
    if (reply.error) w.reject(named(reply.error));
    else w.resolve(reply.bytes!);
    this.dispatch();
  }

  private failAll(err: Error): void {
    this.failure = err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    for (const b of this.backlog.splice(0)) b.waiting.reject(err);
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.idle.length = 0;
  }
}
