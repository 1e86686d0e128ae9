/**
 * Elementwise kernels split over threads that share the population's WebAssembly.Memory: a
 * fork-join pool driven through one small SharedArrayBuffer, synchronous on the calling thread
 * (Atomics.wait, which Node's main thread and any worker allow), so the kernels keep their
 * synchronous contract.
 *
 * A call is cut into fixed chunks of THREAD_CHUNK floats. The caller and the workers claim
 * chunks from one shared counter until none are left, then the caller waits for the chunks
 * others claimed. Every float's result depends on its index alone (chunked-call.ts), so the
 * bits do not depend on the thread count or on who ran which chunk. A worker that has not
 * started yet simply claims nothing: the caller runs every chunk itself.
 *
 * The claim counter carries the call's generation in its high bits, so a worker that woke
 * late for a finished call can never claim a chunk of the next one with the old arguments.
 *
 * Starting workers is the environment's (Node's worker_threads in the CLI, Web Workers in the
 * studio): setKernelThreads registers a spawner and a thread count; the worker side runs
 * kernelThreadLoop on the memory and the control buffer it is given.
 */
import { KernelParamsError } from '../errors';
import { chunkArgs, type ChunkedCall, type KernelFn } from './chunked-call';
import { threadedKernelTable } from './threaded-kernels';

/** Floats per claimed chunk: 256 KiB per vector, a few tens of microseconds of work. */
export const THREAD_CHUNK = 1 << 16;
/** Below this many floats a call runs on the caller alone: waking threads costs more. */
export const THREADED_MIN_FLOATS = 1 << 18;

const MAX_ARGS = 32;
// Int32 slots of the control buffer.
const GEN = 0;
const WORD = 1;
const FINISHED = 2;
const FAILED = 3;
const QUIT = 4;
const FN = 5;
const ARG_COUNT = 6;
const LENGTH_ARG = 7;
const COUNTER_ARG = 8;
const N = 9;
const CHUNKS = 10;
const POINTER_MASK = 11;
const INT_SLOTS = 16;
const CONTROL_BYTES = 4 * INT_SLOTS + 8 * MAX_ARGS;
const GEN_MASK = 0x7fff;
const CHUNK_MASK = 0xffff;

interface ControlViews {
  ints: Int32Array;
  args: Float64Array;
}

function views(control: SharedArrayBuffer): ControlViews {
  return { ints: new Int32Array(control, 0, INT_SLOTS), args: new Float64Array(control, 4 * INT_SLOTS, MAX_ARGS) };
}

/** The call as its worker reads it: copied out of the control buffer before any claim. */
function readCall({ ints, args }: ControlViews, names: readonly string[]): { call: ChunkedCall; chunks: number } {
  const count = ints[ARG_COUNT]!;
  const mask = ints[POINTER_MASK]!;
  const pointers: number[] = [];
  for (let i = 0; i < count; i++) if (mask & (1 << i)) pointers.push(i);
  const counter = ints[COUNTER_ARG]!;
  return {
    call: { fn: names[ints[FN]!]!, args: Array.from(args.subarray(0, count)), pointers, lengthArg: ints[LENGTH_ARG]!, counterArg: counter >= 0 ? counter : undefined, n: ints[N]! },
    chunks: ints[CHUNKS]!,
  };
}

/** Claims and runs chunks of generation `gen` until none are left; returns how many it ran. */
function claimChunks(ints: Int32Array, gen: number, call: ChunkedCall, chunks: number, fn: KernelFn): number {
  const args: number[] = [];
  for (let ran = 0; ; ran++) {
    const word = Atomics.load(ints, WORD);
    if (word >>> 16 !== gen) return ran;
    const chunk = word & CHUNK_MASK;
    if (chunk >= chunks) return ran;
    if (Atomics.compareExchange(ints, WORD, word, word + 1) !== word) {
      ran--;
      continue;
    }
    const start = chunk * THREAD_CHUNK;
    try {
      fn(...chunkArgs(call, start, Math.min(THREAD_CHUNK, call.n - start), args));
    } catch {
      Atomics.store(ints, FAILED, 1);
    }
    Atomics.add(ints, FINISHED, 1);
    Atomics.notify(ints, FINISHED);
  }
}

/** A running set of threads; close() ends them. */
export interface KernelThreadHandles {
  close(): void;
}

/** Starts `workers` threads, each running kernelThreadLoop(memory, control). */
export type KernelThreadSpawner = (workers: number, memory: WebAssembly.Memory, control: SharedArrayBuffer) => KernelThreadHandles;

/** The fork-join pool on one shared memory (the caller is one of its threads). */
export class KernelThreads {
  private readonly control = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly views = views(this.control);
  private readonly handles: KernelThreadHandles;
  private readonly table: Map<string, KernelFn>;
  private readonly names: string[];
  private gen = 0;
  private closed = false;
  /** Chunks run by this pool's calls: on the calling thread, and on the workers. */
  readonly chunks = { caller: 0, workers: 0 };

  private constructor(
    readonly memory: WebAssembly.Memory,
    /** Threads in all, the caller's included. */
    readonly threads: number,
    table: Map<string, KernelFn>,
    spawn: KernelThreadSpawner,
  ) {
    this.table = table;
    this.names = [...table.keys()];
    this.handles = spawn(threads - 1, memory, this.control);
  }

  /** The pool on `memory` (a shared one), or null where its kernels cannot be compiled. */
  static open(memory: WebAssembly.Memory, threads: number, spawn: KernelThreadSpawner): KernelThreads | null {
    if (threads < 2 || !(memory.buffer instanceof SharedArrayBuffer)) return null;
    const table = threadedKernelTable(memory);
    return table ? new KernelThreads(memory, threads, table, spawn) : null;
  }

  /** Whether a call over n floats is worth splitting. */
  takes(n: number): boolean {
    return !this.closed && n >= THREADED_MIN_FLOATS;
  }

  /** Runs the call over every thread; returns when every chunk is done. */
  run(call: ChunkedCall): void {
    const fn = this.table.get(call.fn);
    if (!fn) throw new KernelParamsError(`kernel-threads.ts: no threaded kernel ${call.fn}`);
    if (call.args.length > MAX_ARGS) throw new KernelParamsError(`kernel-threads.ts: ${call.fn} has ${call.args.length} arguments; at most ${MAX_ARGS}`);
    const chunks = Math.ceil(call.n / THREAD_CHUNK);
    if (chunks > CHUNK_MASK) throw new KernelParamsError(`kernel-threads.ts: ${call.n} floats is past the ${CHUNK_MASK} chunks a call can claim`);
    const { ints, args } = this.views;
    ints[FN] = this.names.indexOf(call.fn);
    ints[ARG_COUNT] = call.args.length;
    ints[LENGTH_ARG] = call.lengthArg;
    ints[COUNTER_ARG] = call.counterArg ?? -1;
    ints[N] = call.n;
    ints[CHUNKS] = chunks;
    ints[POINTER_MASK] = call.pointers.reduce((mask, p) => mask | (1 << p), 0);
    args.set(call.args);
    Atomics.store(ints, FINISHED, 0);
    Atomics.store(ints, FAILED, 0);
    this.gen = (this.gen + 1) & GEN_MASK || 1;
    Atomics.store(ints, WORD, this.gen << 16);
    Atomics.store(ints, GEN, this.gen);
    Atomics.notify(ints, GEN);
    const mine = claimChunks(ints, this.gen, call, chunks, fn);
    this.chunks.caller += mine;
    this.chunks.workers += chunks - mine;
    for (let done = Atomics.load(ints, FINISHED); done < chunks; done = Atomics.load(ints, FINISHED)) Atomics.wait(ints, FINISHED, done);
    if (Atomics.load(ints, FAILED)) throw new Error(`kernel-threads.ts: ${call.fn} failed on a worker thread`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.views.ints, QUIT, 1);
    Atomics.add(this.views.ints, GEN, 0x8000);
    Atomics.notify(this.views.ints, GEN);
    this.handles.close();
  }
}

/**
 * A worker thread's life: the same kernels on the same memory, claiming chunks of each call
 * until the pool closes. Returns when it does.
 */
export function kernelThreadLoop(memory: WebAssembly.Memory, control: SharedArrayBuffer): void {
  const table = threadedKernelTable(memory);
  if (!table) return; // the caller then runs every chunk itself
  const names = [...table.keys()];
  const v = views(control);
  let seen = 0;
  for (;;) {
    Atomics.wait(v.ints, GEN, seen);
    if (Atomics.load(v.ints, QUIT)) return;
    const gen = Atomics.load(v.ints, GEN);
    if (gen === seen) continue;
    seen = gen;
    const { call, chunks } = readCall(v, names);
    const fn = table.get(call.fn);
    if (fn) claimChunks(v.ints, gen, call, chunks, fn);
  }
}

let configured: { threads: number; spawn: KernelThreadSpawner } | null = null;

/**
 * Where populations split their kernels: `threads` in all, the workers started by `spawn`
 * (null or 1 thread: everything on the calling thread). Set once by the environment.
 */
export function setKernelThreads(threads: number, spawn: KernelThreadSpawner | null): void {
  configured = spawn && threads > 1 && typeof SharedArrayBuffer !== 'undefined' ? { threads, spawn } : null;
}

/** The threads a population's kernels would use (1: the calling thread alone). */
export function kernelThreadCount(): number {
  return configured?.threads ?? 1;
}

/** A pool on `memory` as configured, or null for one thread. */
export function openKernelThreads(memory: WebAssembly.Memory): KernelThreads | null {
  return configured ? KernelThreads.open(memory, configured.threads, configured.spawn) : null;
}
