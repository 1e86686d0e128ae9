/**
 * A worker thread of the streamed merge's pool (merge-pool.ts): merges whole tensors with the
 * registry's CPU merge (src/merge/stream-merge.ts runMergeJob) and sends the encoded bytes back.
 */
import { parentPort } from 'node:worker_threads';
import { runMergeJob, type MergeJob } from '../src/merge/stream-merge';

parentPort!.on('message', ({ id, job }: { id: number; job: MergeJob }) => {
  try {
    const bytes = runMergeJob(job);
    parentPort!.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
