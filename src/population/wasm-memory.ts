/**
 * One WebAssembly.Memory holding a fixed number of equal flat vectors (the CPU population's
 * individuals, candidate, merged set, base and kinship mean), so WASM kernels run on them in
 * place. The memory is sized once and never grows: growing would detach every live view.
 *
 * Slots are 16-byte aligned (the size rounded up to 4 floats). wasm32 addresses stop at
 * 4 GiB; VectorMemory.fits says whether a population can live in one memory at all.
 * A shared memory also holds the kernel threads' scratch after the slots (SCRATCH_PAGES),
 * where it fits: their kernels run on the slots in place and keep their parameters and
 * sums there (staged-merges.in-place.ts).
 */

import type { ScratchArea } from '../kernels/threads/kernel-threads';

const PAGE_BYTES = 65536;
/** The largest memory, in pages: one page short of 4 GiB, so no vector ends at address 2^32. */
export const WASM_MEMORY_MAX_PAGES = 65535;
/** Pages of a shared memory's scratch for its kernel threads (room for 64 threads' areas). */
export const SCRATCH_PAGES = 2;

export class VectorMemory {
  readonly memory: WebAssembly.Memory;
  /** Floats from one slot's start to the next. */
  readonly stride: number;
  private readonly free: number[];
  /** The kernel threads' scratch (a shared memory with room for it), else null. */
  readonly scratch: ScratchArea | null;

  private constructor(
    readonly size: number,
    readonly capacity: number,
    /** Whether the memory is a SharedArrayBuffer's, so worker threads run kernels on it too. */
    readonly shared: boolean,
  ) {
    this.stride = Math.ceil(size / 4) * 4;
    const slotPages = VectorMemory.pagesFor(size, capacity);
    const withScratch = shared && slotPages + SCRATCH_PAGES <= WASM_MEMORY_MAX_PAGES;
    const pages = slotPages + (withScratch ? SCRATCH_PAGES : 0);
    this.scratch = withScratch ? { at: slotPages * PAGE_BYTES, bytes: SCRATCH_PAGES * PAGE_BYTES } : null;
    try {
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, ...(shared ? { shared: true } : {}) });
    } catch (err) {
      // allocatePopulation turns a RangeError into an OutOfMemoryError with the run's numbers.
      throw new RangeError(
        `a WebAssembly.Memory of ${pages * PAGE_BYTES} bytes (${capacity} vectors of ${size} floats) could not be allocated: ${(err as Error)?.message ?? err}`,
      );
    }
    this.free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }

  static pagesFor(size: number, capacity: number): number {
    return Math.max(1, Math.ceil((16 * Math.ceil(size / 4) * capacity) / PAGE_BYTES)); // 4 floats of 4 bytes per group
  }

  /** Whether `capacity` vectors of `size` floats fit in one wasm32 memory (and this engine has WebAssembly). */
  static fits(size: number, capacity: number): boolean {
    return typeof WebAssembly !== 'undefined' && VectorMemory.pagesFor(size, capacity) <= WASM_MEMORY_MAX_PAGES;
  }

  /**
   * The memory for `capacity` vectors, or null when they cannot share one wasm32 memory.
   * `shared` asks for a shared memory (threads); where this engine has none it is a plain one.
   */
  static open(size: number, capacity: number, shared = false): VectorMemory | null {
    if (!VectorMemory.fits(size, capacity)) return null;
    return new VectorMemory(size, capacity, shared && typeof SharedArrayBuffer !== 'undefined');
  }

  /** A free slot as a view (zero-filled the first time), or null when all are taken. */
  take(): Float32Array | null {
    const slot = this.free.pop();
    return slot === undefined ? null : new Float32Array(this.memory.buffer, 4 * slot * this.stride, this.size);
  }

  /** Whether a view is one of this memory's slots. */
  holds(view: Float32Array): boolean {
    return view.buffer === this.memory.buffer;
  }

  /** Returns a slot taken from this memory; views of other buffers are ignored. */
  give(view: Float32Array): void {
    if (!this.holds(view)) return;
    const slot = view.byteOffset / (4 * this.stride);
    if (!this.free.includes(slot)) this.free.push(slot);
  }
}
