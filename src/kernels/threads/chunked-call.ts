/**
 * One elementwise WebAssembly kernel call over n floats, described so that it can be cut into
 * chunks: the chunk starting at float s advances every pointer argument by 4·s bytes, sets the
 * length argument to the chunk's length and (for the DE step) advances the RNG counter by s.
 * Each float's result depends on its index alone, so any cut gives the same bits: one thread
 * runs the chunks in order (runChunks), several claim them from a shared counter (kernel-threads.ts).
 *
 * A reduction (a sum over the floats) is defined chunk by chunk so that it splits the same way:
 * each THREAD_CHUNK of floats is summed from 0 in SUM_LANES lanes (element j of the chunk in
 * lane j mod 4, each lane in element order; the lanes then added as laneTotal does), and the
 * chunks' partial sums are added in chunk order (foldChunks). One thread and many give the
 * same bits; the lanes break the add chains whose latency bound a single sum.
 */

/** Lanes of a chunk's f64 sums. */
export const SUM_LANES = 4;

/** A chunk's sum from its four lanes. */
export function laneTotal(lanes: ArrayLike<number>, at = 0): number {
  return lanes[at]! + lanes[at + 1]! + (lanes[at + 2]! + lanes[at + 3]!);
}

/** The first `sums` sums of lanes stored SUM_LANES per sum, each from its four lanes (laneTotal). */
export function laneTotals(lanes: ArrayLike<number>, sums: number): number[] {
  return Array.from({ length: sums }, (_, k) => laneTotal(lanes, SUM_LANES * k));
}

/** Floats per chunk of a split call and of a reduction's partial sums: 256 KiB per vector, a few tens of microseconds of work. */
export const THREAD_CHUNK = 1 << 16;

/** The most arguments a split call takes, and the last one that may be a pointer (the pool flags pointers in one int32 mask). */
export const CALL_MAX_ARGS = 64;
export const CALL_MAX_POINTER_ARG = 31;

/** f64 slots a pool holds for a reduction's partial sums; a call with more chunks × sums runs in segments of whole chunks. */
export const PARTIAL_SLOTS = 1 << 15;

/** Chunks per segment of a reduction of `sums` sums per chunk. */
export function chunksPerSegment(sums: number): number {
  return Math.floor(PARTIAL_SLOTS / sums);
}

/**
 * Where the chunk at float `position` (its index in the whole call) writes its `sums` partial
 * sums: the call runs in segments of `perSegment` chunks each (the last one shorter), so the
 * index alone says.
 */
export function partialSlot(position: number, sums: number, perSegment: number): number {
  return (Math.floor(position / THREAD_CHUNK) % perSegment) * sums;
}

export type KernelFn = (...args: number[]) => void;

export interface ChunkedCall {
  /** The kernel, as `module.export` (threadedExportNames). */
  fn: string;
  /** The whole call's arguments (pointers at the first float, length n, counter at float 0). */
  args: readonly number[];
  /** Which arguments are byte addresses. */
  pointers: readonly number[];
  /** Which argument is the length in floats. */
  lengthArg: number;
  /** Which argument is the RNG counter of the first float, if any (a reduction's: its position, 0 at the call's first float). */
  counterArg?: number;
  /** A reduction's: which argument the pool sets to its chunks per segment (partialSlot). */
  segmentArg?: number;
  n: number;
}

/** Arguments of the chunk [start, start + length) of `call`, written into `out`. */
export function chunkArgs(call: ChunkedCall, start: number, length: number, out: number[]): number[] {
  out.length = call.args.length;
  for (let i = 0; i < call.args.length; i++) out[i] = call.args[i]!;
  for (const p of call.pointers) out[p] = call.args[p]! + 4 * start;
  out[call.lengthArg] = length;
  if (call.counterArg !== undefined) out[call.counterArg] = call.args[call.counterArg]! + start;
  return out;
}

/** The call on this thread, chunk after chunk. */
export function runChunks(fn: KernelFn, call: ChunkedCall, chunk: number): void {
  const args: number[] = [];
  for (let s = 0; s < call.n; s += chunk) fn(...chunkArgs(call, s, Math.min(chunk, call.n - s), args));
}

/**
 * A reduction of `slots` sums over n floats, chunk by chunk: partial(start, length) returns the
 * chunk's sums (each from 0, in four lanes), and the totals add them in chunk order.
 */
export function foldChunks(n: number, slots: number, partial: (start: number, length: number) => ArrayLike<number>): number[] {
  const totals = new Array<number>(slots).fill(0);
  for (let start = 0; start < n; start += THREAD_CHUNK) {
    const sums = partial(start, Math.min(THREAD_CHUNK, n - start));
    for (let k = 0; k < slots; k++) totals[k]! += sums[k]!;
  }
  return totals;
}
