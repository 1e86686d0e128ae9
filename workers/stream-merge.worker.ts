/**
 * The stream-merge worker: "Merge to file" (src/state/actions/stream-merge.ts) runs here, off
 * the page's thread, so reading Blob slices, the WebAssembly kernels and encoding never hold up
 * the page. It opens the picked files again (Files clone, opened checkpoints do not), runs the
 * engine's streamed merge into the picked file's writable or into Blob parts, and reports
 * progress through a comlink proxy. Methods that take tensors whole (TIES, DARE, SLERP, model
 * stock…) hand them to a pool of nested workers (tensor-merge-pool.ts); linear and task
 * arithmetic stay here, in row bands or the bfloat16 one-pass kernel, bound by reading.
 * One merge per worker: the page terminates it afterwards.
 * Imports comlink, the engine's stream merge, the merge registry, the pool and the message types.
 */
import { expose } from 'comlink';
import { blobPartsSink, openBlobCheckpoints, streamMergeToSink, writableSink } from '../src/engine/stream-merge';
import { methodFor } from '../src/merge/registry';
import type { StreamProgress } from '../src/merge/stream-merge';
import { mergePoolSize, type StreamMergeJobParams, type StreamMergeOutcome, type StreamMergeWorkerApi } from '../src/state/actions/stream-merge-worker-api';
import { WebWorkerMergePool } from './tensor-merge-pool';

/** Progress messages at most this often (a checkpoint of many small tensors would otherwise post thousands a second). */
const PROGRESS_INTERVAL_MS = 50;

function throttled(onProgress: (p: StreamProgress) => void): (p: StreamProgress) => void {
  let last = -Infinity;
  return (p) => {
    const now = performance.now();
    if (p.done < p.count && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    // Not awaited: the merge goes on; a page gone away is not the merge's failure.
    void Promise.resolve(onProgress(p)).catch(() => undefined);
  };
}

const api: StreamMergeWorkerApi = {
  async merge(job: StreamMergeJobParams, onProgress: (p: StreamProgress) => void): Promise<StreamMergeOutcome> {
    const checkpoints = await openBlobCheckpoints(job.files);
    const base = job.base === null ? null : (checkpoints.find((c) => c.source.name === job.base) ?? null);
    const poolSize = mergePoolSize(methodFor(job.params.method).id, navigator.hardwareConcurrency);
    const pool = poolSize > 0 ? new WebWorkerMergePool(poolSize) : undefined;
    const request = { models: checkpoints.filter((c) => c !== base), base, params: job.params, dtype: job.dtype, chunkBytes: job.chunkBytes, onProgress: throttled(onProgress), pool };
    try {
      if (job.target) {
        const summary = await streamMergeToSink(request, writableSink(await job.target.createWritable()));
        return { blob: null, merged: summary.merged, tensors: summary.tensors };
      }
      const sink = blobPartsSink();
      const summary = await streamMergeToSink(request, sink);
      return { blob: sink.blob(), merged: summary.merged, tensors: summary.tensors };
    } finally {
      pool?.close();
    }
  },
};

expose(api);
