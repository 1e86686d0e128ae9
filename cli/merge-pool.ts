/**
 * Worker threads for the streamed merge (--threads N): each merges one whole tensor at a time
 * (merge-worker.ts), so N tensors' kernels run on N cores while this thread reads and writes.
 * Inputs are transferred, not copied; results come back encoded. Bytes are the same as one
 * thread's: the same CPU merge on the same values.
 */
import { Worker } from 'node:worker_threads';
import type { MergeJob, TensorMergePool } from '../src/merge/stream-merge';

interface Waiting {
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

export class MergePool implements TensorMergePool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly backlog: { job: MergeJob; waiting: Waiting }[] = [];
  private readonly waiting = new Map<number, Waiting & { worker: Worker }>();
  private nextId = 0;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(new URL('./merge-worker.mjs', import.meta.url));
      w.on('message', (m: { id: number; bytes?: Uint8Array; error?: string }) => this.settle(m));
      w.on('error', (err: Error) => this.failAll(err));
      return w;
    });
    this.idle = [...this.workers];
  }

  merge(job: MergeJob): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.backlog.push({ job, waiting: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.backlog.length > 0) {
      const worker = this.idle.pop()!;
      const { job, waiting } = this.backlog.shift()!;
      const id = this.nextId++;
      this.waiting.set(id, { ...waiting, worker });
      const buffers = [...new Set(job.inputs.map((a) => a.buffer as ArrayBuffer))];
      worker.postMessage({ id, job }, buffers);
    }
  }

  private settle(m: { id: number; bytes?: Uint8Array; error?: string }): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    this.idle.push(w.worker);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.bytes!);
    this.dispatch();
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    for (const b of this.backlog.splice(0)) b.waiting.reject(err);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
