/**
 * A worker of the stream-merge worker's pool (tensor-merge-pool.ts), nested in it: merges whole
 * tensors with the registry's CPU merge (src/merge/stream-merge.ts runMergeJob) and sends the
 * encoded bytes back, transferred. The same runMergeJob as one thread's, so the same bits.
 * Imports the merge's job runner.
 */
import { runMergeJob, type MergeJob } from '../src/merge/stream-merge';

export interface TensorMergeReply {
  id: number;
  bytes?: Uint8Array;
  error?: { message: string; name: string };
}

self.addEventListener('message', (event: MessageEvent<{ id: number; job: MergeJob }>) => {
  const { id, job } = event.data;
  try {
    const bytes = runMergeJob(job);
    self.postMessage({ id, bytes } satisfies TensorMergeReply, { transfer: [bytes.buffer as ArrayBuffer] });
  } catch (err) {
    const error = err instanceof Error ? { message: err.message, name: err.name } : { message: String(err), name: 'Error' };
    self.postMessage({ id, error } satisfies TensorMergeReply);
  }
});
