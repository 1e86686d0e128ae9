/**
 * The fast TIES' passes split over kernel threads (threads/kernel-threads.ts) when the models,
 * the base and the output all live on one pooled shared memory: each chunk of THREAD_CHUNK
 * floats runs on one thread through that thread's own kernel (its pass over the chunk's
 * views, as ties-fast.wasm.ts runs it on one thread), and leaves in its slot of the pool's
 * side area what the caller needs to finish:
 *   - the speculative merge pass: how many elements it deferred, each model's count of keys
 *     above its window, and the deferred records (chunkSlotInts);
 *   - a window pass (windows of at most SPLIT_WINDOW_BINS bins): each window's count above
 *     it and its bins, which the caller adds over the chunks;
 *   - the exact merge pass reads instead: each model's budget of ties for the chunk (the
 *     ties its cut keeps, less those the chunks before it hold: counted by a window pass of
 *     the one key), so the ties are kept in index order as one thread keeps them; a chunk
 *     that keeps all of its ties or none needs no tie-by-tie pass.
 *
 * Bits: every element is decided from its own values, the rows and its chunk's budgets; the
 * counts are integers, and the caller reads the slots in chunk order, so the records come out
 * in index order as one thread appends them. A chunk that defers more than its slot holds
 * marks it -1: the caller runs that chunk's pass again itself, its records straight into the
 * call's.
 * Layout of a call: counts and flags first, then the pointers, then each model's row.
 */
import { CALL_MAX_ARGS, CALL_MAX_POINTER_ARG, THREAD_CHUNK, type ChunkedCall, type KernelFn } from '../threads/chunked-call';
import type { TiesVote } from '../task-vector/params';
import type { KeyWindow } from './ties-select';

/** Records a chunk's slot holds: a 32nd of it, about three times what a sampled window defers. */
export const CHUNK_RECORDS = THREAD_CHUNK >>> 5;

/**
 * A chunk's slot in the side area: [deferred (−1: more than CHUNK_RECORDS), above per model,
 * then the record columns, CHUNK_RECORDS ints each: the index in the chunk, each model's
 * value, the base's (f32 bits)]. The values travel with the indices: gathering them again
 * from the tensors costs a cache miss per value.
 */
export function chunkSlotInts(models: number): number {
  return 1 + models + (models + 2) * CHUNK_RECORDS;
}

/** Most bins of a window a split window pass takes (each chunk's bins go through the side area); wider windows pass on one thread. */
export const SPLIT_WINDOW_BINS = 1024;

/** A model's row of a merge pass: keep key > hi (the exact pass: and its chunk's budget of ties == hi); the speculative pass defers keys in (loExclusive, hi]. */
export interface PassRow {
  hi: number;
  loExclusive: number;
}

export interface TiesPassParams {
  /** f32 weights, one per model. */
  w32: Float32Array;
  lambda: number;
  normalize: boolean;
  vote: TiesVote;
}

/** A window of a split window pass, and where its model's counts lie in each chunk's slot. */
export interface SplitWindow extends KeyWindow {
  /** Ints from the slot's start: [above, bins…]. */
  offset: number;
}

/** What the chunk kernels run on one thread: a pass over one chunk, its slot of the side area written. */
export interface TiesChunkRunner {
  /** The speculative merge pass: out written, the slot filled (chunkSlotInts' layout). */
  speculativeChunk(models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly PassRow[], p: TiesPassParams, side: Int32Array, slot: number): void;
  /** The exact merge pass, each model keeping up to `ties[m]` of the chunk's `tied[m]` keys equal to its hi, in index order. */
  exactChunk(models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly PassRow[], ties: readonly number[], tied: readonly number[], p: TiesPassParams): void;
  /** A window pass over the listed models: each window's count above it and its bins, at its offset in the slot. */
  windowChunk(models: readonly Float32Array[], base: Float32Array, windows: readonly SplitWindow[], side: Int32Array, slot: number): void;
}

const fits = (args: readonly number[], pointers: readonly number[]) => args.length <= CALL_MAX_ARGS && pointers.every((at) => at <= CALL_MAX_POINTER_ARG);

// [count, n, position, vote, lambda, normalize, out, base, models…, then weight, hi, loExclusive per model]
export function tiesMergeCall(pass: 'speculative' | 'exact', models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly PassRow[], p: TiesPassParams): ChunkedCall | null {
  const c = models.length;
  const perModel = rows.flatMap((r, m) => [p.w32[m]!, r.hi, r.loExclusive]);
  const args = [c, out.length, 0, p.vote === 'count' ? 1 : 0, p.lambda, p.normalize ? 1 : 0, ...[out, base, ...models].map((a) => a.byteOffset), ...perModel];
  const pointers = Array.from({ length: c + 2 }, (_, i) => 6 + i);
  return fits(args, pointers) ? { fn: `ties.${pass}`, args, pointers, lengthArg: 1, counterArg: 2, n: out.length } : null;
}

// [count, n, position, slot ints, base, models…, then lo, hi, shift, offset per window]
export function tiesWindowCall(models: readonly Float32Array[], base: Float32Array, windows: readonly SplitWindow[], slotInts: number): ChunkedCall | null {
  const c = models.length;
  const args = [c, base.length, 0, slotInts, ...[base, ...models].map((a) => a.byteOffset), ...windows.flatMap((w) => [w.lo, w.hi, w.shift, w.offset])];
  const pointers = Array.from({ length: c + 1 }, (_, i) => 4 + i);
  return fits(args, pointers) ? { fn: 'ties.window', args, pointers, lengthArg: 1, counterArg: 2, n: base.length } : null;
}

/**
 * The chunk kernels on `memory`, running `local`; `side` is the pool's side area (a view that
 * follows its growth): the exact pass reads its chunk's budgets and counts of ties there
 * (2 × `count` ints per chunk from the start), the others write their slots. Empty where there is no local kernel.
 */
export function tiesChunkKernels(memory: WebAssembly.Memory, side: Int32Array, local: TiesChunkRunner | null): Map<string, KernelFn> {
  if (!local) return new Map();
  const view = (address: number, n: number) => new Float32Array(memory.buffer, address, n);
  // A merge call's arguments (tiesMergeCall's layout).
  const mergeArgs = (args: readonly number[]) => {
    const [c, n, position, vote, lambda, normalize] = args as [number, number, number, number, number, number];
    const row = (m: number) => 8 + c + 3 * m;
    return {
      c,
      chunk: position / THREAD_CHUNK,
      models: Array.from({ length: c }, (_, m) => view(args[8 + m]!, n)),
      base: view(args[7]!, n),
      out: view(args[6]!, n),
      rows: Array.from({ length: c }, (_, m) => ({ hi: args[row(m) + 1]!, loExclusive: args[row(m) + 2]! })),
      p: { w32: Float32Array.from({ length: c }, (_, m) => args[row(m)]!), lambda, normalize: normalize === 1, vote: vote === 1 ? 'count' : 'sum' } as TiesPassParams,
    };
  };
  return new Map<string, KernelFn>([
    [
      'ties.speculative',
      (...args) => {
        const a = mergeArgs(args);
        local.speculativeChunk(a.models, a.base, a.out, a.rows, a.p, side, a.chunk * chunkSlotInts(a.c));
      },
    ],
    [
      'ties.exact',
      (...args) => {
        const a = mergeArgs(args);
        const at = 2 * a.c * a.chunk;
        local.exactChunk(a.models, a.base, a.out, a.rows, Array.from(side.subarray(at, at + a.c)), Array.from(side.subarray(at + a.c, at + 2 * a.c)), a.p);
      },
    ],
    [
      'ties.window',
      (...args) => {
        const [c, n, position, slotInts] = args as [number, number, number, number];
        const windows = Array.from({ length: c }, (_, r) => {
          const at = 5 + c + 4 * r;
          return { lo: args[at]!, hi: args[at + 1]!, shift: args[at + 2]!, offset: args[at + 3]! };
        });
        local.windowChunk(Array.from({ length: c }, (_, m) => view(args[5 + m]!, n)), view(args[4]!, n), windows, side, (position / THREAD_CHUNK) * slotInts);
      },
    ],
  ]);
}
