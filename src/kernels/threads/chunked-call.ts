/**
 * One elementwise WebAssembly kernel call over n floats, described so that it can be cut into
 * chunks: the chunk starting at float s advances every pointer argument by 4·s bytes, sets the
 * length argument to the chunk's length and (for the DE step) advances the RNG counter by s.
 * Each float's result depends on its index alone, so any cut gives the same bits: one thread
 * runs the chunks in order (runChunks), several claim them from a shared counter (kernel-threads.ts).
 */

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
  /** Which argument is the RNG counter of the first float, if any. */
  counterArg?: number;
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
