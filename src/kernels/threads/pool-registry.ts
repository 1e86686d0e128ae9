/**
 * Which shared buffer has a kernel-thread pool: kernels that take arrays from anywhere (the
 * staged merges) look up the buffer their arrays live on and split their calls over its pool
 * when every array is on it. The pool registers itself while it is open (kernel-threads.ts);
 * this module imports only types, so kernels below the pool can ask without a circle.
 */
import type { ChunkedCall } from './chunked-call';

/** What a kernel needs of a pool. */
export interface ChunkPool {
  /** Whether a call over n floats is worth splitting (and the pool still runs). */
  takes(n: number): boolean;
  /** Runs an elementwise call over every thread. */
  run(call: ChunkedCall): void;
  /** Runs a reduction of `slots` sums per chunk over every thread; the totals, folded in chunk order (foldChunks' bits). */
  reduce(call: ChunkedCall, slots: number): number[];
  /** `ints` int32s every thread's chunk kernels can write by chunk (threaded-kernels.ts' side view), or null where there is no room. */
  side(ints: number): Int32Array | null;
}

const pools = new WeakMap<ArrayBufferLike, ChunkPool>();

export function registerChunkPool(buffer: ArrayBufferLike, pool: ChunkPool): void {
  pools.set(buffer, pool);
}

/** Forgets the pool (a later pool on the same buffer stays). */
export function unregisterChunkPool(buffer: ArrayBufferLike, pool: ChunkPool): void {
  if (pools.get(buffer) === pool) pools.delete(buffer);
}

/** The pool that takes a call over n floats of these arrays: all on one registered buffer; else null. */
export function chunkPoolFor(arrays: readonly ArrayBufferView[], n: number): ChunkPool | null {
  const buffer = arrays[0]?.buffer;
  if (!buffer) return null;
  const pool = pools.get(buffer);
  if (!pool || !pool.takes(n)) return null;
  return arrays.every((a) => a.buffer === buffer) ? pool : null;
}
