/**
 * Elementwise kernels split over threads that share the population's WebAssembly.Memory: a
 * fork-join pool driven through one small SharedArrayBuffer, synchronous on the calling thread
 * (Atomics.wait, which Node's main thread and any worker allow), so the kernels keep their
 * synchronous contract.
 *
 * A call is cut into fixed chunks of THREAD_CHUNK floats. The caller and the workers claim
 * chunks from one shared counter until none are left, then the caller waits for the chunks
 * others claimed. Every float's result depends on its index alone (chunked-call.ts), so the
 * bits do not depend on the thread count or on who ran which chunk. A reduction's chunks write
 * their partial sums to slots of the control buffer by chunk index; the caller adds them in
 * chunk order (foldChunks' bits). A worker that has not
 * started yet simply claims nothing: the caller runs every chunk itself. Kernels whose chunks
 * leave more than sums (TIES' deferred records) write them to the side area after the
 * partials: the caller grows the control buffer to fit before the call (ES2024's growable
 * SharedArrayBuffer: every thread's length-tracking view follows), and reads them after.
 *
 * The claim counter carries the call's generation in its high bits, so a worker that woke
 * late for a finished call can never claim a chunk of the next one with the old arguments;
 * it is cleared before the next call's arguments are written, so a worker reading them half
 * written claims nothing either. Every word of the control buffer is read and written with
 * Atomics (the arguments as pairs of int32 words): their total order is what makes a claim
 * that succeeds see its own call's arguments, on any hardware's memory model.
 *
 * Starting workers is the environment's (Node's worker_threads in the CLI, Web Workers in the
 * studio): setKernelThreads registers a spawner and a thread count; the worker side runs
 * kernelThreadLoop on the memory and the control buffer it is given.
 */
import { KernelParamsError } from '../errors';
import { CALL_MAX_ARGS as MAX_ARGS, CALL_MAX_POINTER_ARG as MAX_POINTER_ARG, chunkArgs, chunksPerSegment, foldChunks, PARTIAL_SLOTS, partialSlot, THREAD_CHUNK, type ChunkedCall, type KernelFn } from './chunked-call';
import { registerChunkPool, unregisterChunkPool, type ChunkPool } from './pool-registry';
import { IN_PLACE_AREA_BYTES } from '../staged-merges/staged-merges.in-place';
import { threadedKernelTable } from './threaded-kernels';

export { THREAD_CHUNK };
/** Below this many floats a call runs on the caller alone: waking threads costs more. */
export const THREADED_MIN_FLOATS = 1 << 18;

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
/** Set by the environment when a thread stopped on its own (killed, out of memory). */
const LOST = 12;
/** The memory's scratch for the threads' in-place kernels (byte address, bytes; 0 bytes: none), and the next thread's area. */
const SCRATCH_AT = 13;
const SCRATCH_BYTES = 14;
const NEXT_AREA = 15;
const INT_SLOTS = 16;
const PARTIALS_AT = 4 * INT_SLOTS + 8 * MAX_ARGS;
const CONTROL_BYTES = PARTIALS_AT + 8 * PARTIAL_SLOTS;
/** The side area (int32s the chunk kernels write by chunk and the caller reads: TIES' deferred records) follows, grown on demand. */
const SIDE_AT = CONTROL_BYTES;
/** The most int32s the side area grows to (address space reserved with the control buffer, pages committed as written). */
export const SIDE_MAX_INTS = 1 << 26;
const GEN_MASK = 0x7fff;
const CHUNK_MASK = 0xffff;

interface ControlViews {
  ints: Int32Array;
  /** Each argument's f64 bits as two int32 words. */
  argWords: Int32Array;
}

/** Bytes of a pool's memory that hold no vector: each thread takes an area of them for its in-place kernels. */
export interface ScratchArea {
  at: number;
  bytes: number;
}

/** This thread's area of the pool's scratch (one per thread, in the order they ask), or null when none is left. */
function claimArea(control: SharedArrayBuffer): number | null {
  const { ints } = views(control);
  const index = Atomics.add(ints, NEXT_AREA, 1);
  const bytes = Atomics.load(ints, SCRATCH_BYTES) >>> 0;
  return (index + 1) * IN_PLACE_AREA_BYTES <= bytes ? (Atomics.load(ints, SCRATCH_AT) >>> 0) + index * IN_PLACE_AREA_BYTES : null;
}

/** ES2024's growable SharedArrayBuffer, where the engine has it. */
interface GrowableSharedBuffer extends SharedArrayBuffer {
  readonly growable?: boolean;
  readonly maxByteLength?: number;
  grow?(bytes: number): void;
}

/** The control buffer: growable for the side area where the engine allows, else fixed (no side area). */
function controlBuffer(): GrowableSharedBuffer {
  const Growable = SharedArrayBuffer as unknown as new (bytes: number, options?: { maxByteLength: number }) => GrowableSharedBuffer;
  try {
    return new Growable(CONTROL_BYTES, { maxByteLength: SIDE_AT + 4 * SIDE_MAX_INTS });
  } catch {
    return new SharedArrayBuffer(CONTROL_BYTES);
  }
}

/** The side area as it stands (a length-tracking view: it follows the caller's growth). */
function sideOf(control: SharedArrayBuffer): Int32Array {
  return new Int32Array(control, SIDE_AT);
}

/** The reductions' partial sums, by chunk (chunked-call.ts partialSlot). */
function partialsOf(control: SharedArrayBuffer): Float64Array {
  return new Float64Array(control, PARTIALS_AT, PARTIAL_SLOTS);
}

function views(control: SharedArrayBuffer): ControlViews {
  return { ints: new Int32Array(control, 0, INT_SLOTS), argWords: new Int32Array(control, 4 * INT_SLOTS, 2 * MAX_ARGS) };
}

// One thread's scratch for moving an f64 through two int32 words.
const bits = new Float64Array(1);
const bitWords = new Int32Array(bits.buffer);

function storeArg(words: Int32Array, i: number, value: number): void {
  bits[0] = value;
  Atomics.store(words, 2 * i, bitWords[0]!);
  Atomics.store(words, 2 * i + 1, bitWords[1]!);
}

function loadArg(words: Int32Array, i: number): number {
  bitWords[0] = Atomics.load(words, 2 * i);
  bitWords[1] = Atomics.load(words, 2 * i + 1);
  return bits[0]!;
}

/** The call as its worker reads it: copied out of the control buffer before any claim. */
function readCall({ ints, argWords }: ControlViews, names: readonly string[]): { call: ChunkedCall; chunks: number } {
  const count = Atomics.load(ints, ARG_COUNT);
  const mask = Atomics.load(ints, POINTER_MASK);
  const pointers: number[] = [];
  for (let i = 0; i < count; i++) if (mask & (1 << i)) pointers.push(i);
  const counter = Atomics.load(ints, COUNTER_ARG);
  const args = Array.from({ length: count }, (_, i) => loadArg(argWords, i));
  return {
    call: { fn: names[Atomics.load(ints, FN)] ?? '', args, pointers, lengthArg: Atomics.load(ints, LENGTH_ARG), counterArg: counter >= 0 ? counter : undefined, n: Atomics.load(ints, N) },
    chunks: Atomics.load(ints, CHUNKS),
  };
}

/**
 * Claims and runs chunks of generation `gen` until none are left. Returns how many it ran and
 * the first error of its own chunks (the others' set FAILED).
 */
function claimChunks(ints: Int32Array, gen: number, call: ChunkedCall, chunks: number, fn: KernelFn | undefined): { ran: number; error: unknown } {
  const args: number[] = [];
  let error: unknown = null;
  for (let ran = 0; ; ran++) {
    const word = Atomics.load(ints, WORD);
    if (word >>> 16 !== gen) return { ran, error };
    const chunk = word & CHUNK_MASK;
    if (chunk >= chunks) return { ran, error };
    if (Atomics.compareExchange(ints, WORD, word, word + 1) !== word) {
      ran--;
      continue;
    }
    const start = chunk * THREAD_CHUNK;
    try {
      if (!fn) throw new Error(`kernel-threads.ts: no threaded kernel ${call.fn} here`);
      fn(...chunkArgs(call, start, Math.min(THREAD_CHUNK, call.n - start), args));
    } catch (err) {
      error ??= err;
      Atomics.store(ints, FAILED, 1);
    }
    Atomics.add(ints, FINISHED, 1);
    Atomics.notify(ints, FINISHED);
  }
}

/**
 * The environment's word that one of a pool's threads stopped on its own (its exit or error
 * event while the pool is open): a call waiting on it fails instead of waiting for ever, and
 * the pool runs later calls on the caller alone.
 */
export function markKernelThreadLost(control: SharedArrayBuffer): void {
  const { ints } = views(control);
  Atomics.store(ints, LOST, 1);
  Atomics.notify(ints, FINISHED);
}

/** A running set of threads; close() ends them. */
export interface KernelThreadHandles {
  close(): void;
}

/** Starts `workers` threads, each running kernelThreadLoop(memory, control). */
export type KernelThreadSpawner = (workers: number, memory: WebAssembly.Memory, control: SharedArrayBuffer) => KernelThreadHandles;

/** The fork-join pool on one shared memory (the caller is one of its threads). */
export class KernelThreads implements ChunkPool {
  private readonly views: ControlViews;
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
    private readonly control: GrowableSharedBuffer,
    table: Map<string, KernelFn>,
    spawn: KernelThreadSpawner,
  ) {
    this.views = views(control);
    this.table = table;
    this.names = [...table.keys()];
    this.handles = spawn(threads - 1, memory, control);
    // Kernels that take arrays from anywhere split their calls here when all are on this memory.
    registerChunkPool(memory.buffer, this);
  }

  /**
   * The pool on `memory` (a shared one), or null where its kernels cannot be compiled.
   * `scratch`: bytes of the memory no vector uses, where the threads' in-place kernels keep
   * their parameters and sums; without it they stage copies (the same bits).
   */
  static open(memory: WebAssembly.Memory, threads: number, spawn: KernelThreadSpawner, scratch: ScratchArea | null = null): KernelThreads | null {
    if (threads < 2 || !(memory.buffer instanceof SharedArrayBuffer)) return null;
    const control = controlBuffer();
    if (scratch) {
      const { ints } = views(control);
      Atomics.store(ints, SCRATCH_AT, scratch.at | 0);
      Atomics.store(ints, SCRATCH_BYTES, scratch.bytes | 0);
    }
    const table = threadedKernelTable(memory, partialsOf(control), claimArea(control), sideOf(control));
    return table ? new KernelThreads(memory, threads, control, table, spawn) : null;
  }

  /** Whether a call over n floats is worth splitting. */
  takes(n: number): boolean {
    // A lost thread (markKernelThreadLost) might never finish a claim: later calls stay here.
    return !this.closed && !Atomics.load(this.views.ints, LOST) && n >= THREADED_MIN_FLOATS;
  }

  /** Runs the call over every thread; returns when every chunk is done. */
  run(call: ChunkedCall): void {
    const fn = this.table.get(call.fn);
    if (!fn) throw new KernelParamsError(`kernel-threads.ts: no threaded kernel ${call.fn}`);
    if (call.args.length > MAX_ARGS) throw new KernelParamsError(`kernel-threads.ts: ${call.fn} has ${call.args.length} arguments; at most ${MAX_ARGS}`);
    if (call.pointers.some((p) => p > MAX_POINTER_ARG)) throw new KernelParamsError(`kernel-threads.ts: ${call.fn}'s pointers must be among its first ${MAX_POINTER_ARG + 1} arguments`);
    const chunks = Math.ceil(call.n / THREAD_CHUNK);
    if (chunks > CHUNK_MASK) throw new KernelParamsError(`kernel-threads.ts: ${call.n} floats is past the ${CHUNK_MASK} chunks a call can claim`);
    const { ints, argWords } = this.views;
    // Generation 0 is never a call's: no claim succeeds while the arguments change.
    Atomics.store(ints, WORD, 0);
    Atomics.store(ints, FN, this.names.indexOf(call.fn));
    Atomics.store(ints, ARG_COUNT, call.args.length);
    Atomics.store(ints, LENGTH_ARG, call.lengthArg);
    Atomics.store(ints, COUNTER_ARG, call.counterArg ?? -1);
    Atomics.store(ints, N, call.n);
    Atomics.store(ints, CHUNKS, chunks);
    Atomics.store(ints, POINTER_MASK, call.pointers.reduce((mask, p) => mask | (1 << p), 0));
    call.args.forEach((value, i) => storeArg(argWords, i, value));
    Atomics.store(ints, FINISHED, 0);
    Atomics.store(ints, FAILED, 0);
    this.gen = (this.gen + 1) & GEN_MASK || 1;
    Atomics.store(ints, WORD, this.gen << 16);
    Atomics.store(ints, GEN, this.gen);
    Atomics.notify(ints, GEN);
    const mine = claimChunks(ints, this.gen, call, chunks, fn);
    this.chunks.caller += mine.ran;
    this.chunks.workers += chunks - mine.ran;
    for (let done = Atomics.load(ints, FINISHED); done < chunks && !Atomics.load(ints, LOST); done = Atomics.load(ints, FINISHED)) Atomics.wait(ints, FINISHED, done);
    if (Atomics.load(ints, FINISHED) < chunks) {
      // A thread stopped holding a chunk: the call's result is incomplete.
      this.close();
      throw new Error(`kernel-threads.ts: a kernel thread stopped during ${call.fn}; the threads are closed and later calls run on this thread`);
    }
    if (mine.error) throw mine.error;
    if (Atomics.load(ints, FAILED)) throw new Error(`kernel-threads.ts: ${call.fn} failed on a worker thread`);
  }

  /**
   * Runs a reduction over every thread: each chunk's kernel writes its `sums` partial sums at
   * partialSlot(its position, sums, perSegment), position being the call's counter argument (0
   * at the call's first float) and perSegment what the pool sets its segment argument to (the
   * most chunks the partial slots hold; fewer only in tests). Returns the totals, the partials
   * added in chunk order.
   */
  reduce(call: ChunkedCall, sums: number, perSegment = chunksPerSegment(sums)): number[] {
    if (call.counterArg === undefined || call.segmentArg === undefined) throw new KernelParamsError(`kernel-threads.ts: reduction ${call.fn} needs position and segment arguments`);
    if (perSegment < 1 || perSegment > chunksPerSegment(sums)) throw new KernelParamsError(`kernel-threads.ts: ${call.fn}'s ${perSegment} chunks of ${sums} sums do not fit ${PARTIAL_SLOTS} slots`);
    const partials = partialsOf(this.control);
    const segment = perSegment * THREAD_CHUNK;
    const whole = { ...call, args: call.args.map((value, i) => (i === call.segmentArg ? perSegment : value)) };
    // The fold of one thread, reading each chunk's partials where its kernel wrote them; a
    // segment's chunks all run before the first of them is read.
    return foldChunks(call.n, sums, (start) => {
      if (start % segment === 0) {
        const n = Math.min(segment, call.n - start);
        this.run({ ...call, args: chunkArgs(whole, start, n, []), n });
      }
      const at = partialSlot(start, sums, perSegment);
      return partials.subarray(at, at + sums);
    });
  }

  /**
   * The first `ints` int32s of the side area, grown to hold them (zeroed when new; what an
   * earlier call wrote stays), or null where the control buffer cannot grow that far.
   */
  side(ints: number): Int32Array | null {
    const bytes = SIDE_AT + 4 * ints;
    if (this.control.byteLength < bytes) {
      if (!this.control.growable || !this.control.grow || bytes > (this.control.maxByteLength ?? 0)) return null;
      this.control.grow(bytes);
    }
    return new Int32Array(this.control, SIDE_AT, ints);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    unregisterChunkPool(this.memory.buffer, this);
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
  const table = threadedKernelTable(memory, partialsOf(control), claimArea(control), sideOf(control));
  if (!table) return; // the caller then runs every chunk itself
  const names = [...table.keys()];
  const v = views(control);
  let seen = 0;
  for (;;) {
    Atomics.wait(v.ints, GEN, seen);
    // GEN before QUIT: a close() after these two reads changes GEN again, so the next wait returns.
    const gen = Atomics.load(v.ints, GEN);
    if (Atomics.load(v.ints, QUIT)) return;
    if (gen === seen) continue;
    seen = gen;
    const { call, chunks } = readCall(v, names);
    claimChunks(v.ints, gen, call, chunks, table.get(call.fn));
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

/** A pool on `memory` (with its scratch, if any) as configured, or null for one thread. */
export function openKernelThreads(memory: WebAssembly.Memory, scratch: ScratchArea | null = null): KernelThreads | null {
  return configured ? KernelThreads.open(memory, configured.threads, configured.spawn, scratch) : null;
}
