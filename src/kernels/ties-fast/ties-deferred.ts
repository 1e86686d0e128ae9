/**
 * The elements the speculative merge pass could not decide: where some model's key fell in
 * its window, the pass appended the element (its index, each model's value, the base's) to
 * record columns instead of trusting its output. Once the pass has counted every model's
 * keys above its window, the records hold every key inside it, so the exact cut comes from
 * window passes over the records alone; then the records go through the exact merge pass
 * as a small tensor of their own, and their outputs are written over.
 * Ties at a threshold lie inside its window, so the records (in index order) meet all of
 * them in order, as the twin's tie-break needs.
 * Pure module: typed arrays in, typed arrays out.
 */
import { narrow, type KeyWindow, type Step, type TiesCut, type WindowPass } from './ties-select';

/** A float column's bits: copies through it keep every payload. */
const bitsOf = (c: Float32Array) => new Int32Array(c.buffer, c.byteOffset, c.length);

/** Growable columns: the element index, then each model's value, then the base's. */
export class DeferredRecords {
  index = new Int32Array(0);
  columns: Float32Array[];
  count = 0;

  capacity = 0;

  constructor(readonly models: number) {
    this.columns = Array.from({ length: models + 1 }, () => new Float32Array(0));
  }

  /** Empties the list for another pass (the columns are kept for reuse), with room for `capacity` records at most. */
  reset(capacity: number): this {
    this.count = 0;
    this.capacity = capacity;
    return this;
  }

  private grow(size: number): void {
    const keep = this.count;
    const index = new Int32Array(size);
    index.set(this.index.subarray(0, keep));
    this.index = index;
    this.columns = this.columns.map((c) => {
      const grown = new Float32Array(size);
      grown.set(c.subarray(0, keep));
      return grown;
    });
  }

  /**
   * Appends `count` records from the kernel's columns (heap floats at `at`, one column every
   * `columnFloats`; indices chunk-local, shifted by start; pad lanes at or past len dropped).
   * False once over capacity.
   */
  append(heap: Float32Array, heapI32: Int32Array, at: number, columnFloats: number, count: number, start: number, len: number): boolean {
    let real = count;
    while (real > 0 && heapI32[at + real - 1]! >= len) real--;
    if (this.count + real > this.capacity) return false;
    this.ensure(this.count + real);
    const end = this.count + real;
    for (let r = 0; r < real; r++) this.index[this.count + r] = heapI32[at + r]! + start;
    this.columns.forEach((c, k) => c.set(heap.subarray(at + (k + 1) * columnFloats, at + (k + 1) * columnFloats + real), this.count));
    this.count = end;
    return true;
  }

  /** Room for `size` records, the ones held kept. */
  private ensure(size: number): void {
    if (size > this.index.length) this.grow(Math.max(2 * this.index.length, size, 1024));
  }

  /**
   * Appends `count` records from columns of `ints`, `stride` apart from `at`: the indices
   * (shifted by `shift`), then each model's values and the base's as f32 bits (writeColumns'
   * layout). False once over capacity.
   */
  appendColumns(ints: Int32Array, at: number, stride: number, count: number, shift: number): boolean {
    if (this.count + count > this.capacity) return false;
    this.ensure(this.count + count);
    const first = this.count;
    this.index.set(ints.subarray(at, at + count), first);
    for (let r = first; r < first + count; r++) this.index[r]! += shift;
    this.columns.forEach((c, k) => bitsOf(c).set(ints.subarray(at + (k + 1) * stride, at + (k + 1) * stride + count), first));
    this.count += count;
    return true;
  }

  /** The records into columns of `ints`, `stride` apart from `at` (appendColumns reads them back). */
  writeColumns(ints: Int32Array, at: number, stride: number): void {
    ints.set(this.index.subarray(0, this.count), at);
    this.columns.forEach((c, k) => ints.set(bitsOf(c).subarray(0, this.count), at + (k + 1) * stride));
  }

  /** The records as a tensor: each model's column and the base column, `count` long. */
  tensor(): { models: Float32Array[]; base: Float32Array } {
    const cols = this.columns.map((c) => c.subarray(0, this.count));
    return { models: cols.slice(0, this.models), base: cols[this.models]! };
  }
}

/**
 * The exact cut of each windowed model, from window passes over the records and the
 * tensor-wide count above each window; null where the k-th key lies outside the window
 * (the sample missed).
 */
export function cutsFromRecords(ks: readonly number[], steps: readonly Step[], aboveTensor: readonly number[], recordsPass: WindowPass): TiesCut[] | null {
  const cuts = steps.map((s) => ('cut' in s ? s.cut : null));
  const windows = new Map<number, KeyWindow>();
  steps.forEach((s, i) => {
    if ('window' in s) windows.set(i, s.window);
  });
  // Keys above a window that are not in the records lie above the first window, so for any
  // window inside it: tensor-wide above = (first above − records above the first) + records above.
  const outside = new Map<number, number>();
  while (windows.size > 0) {
    const open = [...windows.keys()];
    const { above, hists } = recordsPass(open, open.map((i) => windows.get(i)!));
    for (const [r, i] of open.entries()) {
      if (!outside.has(i)) outside.set(i, aboveTensor[i]! - above[r]!);
      const window = windows.get(i)!;
      const step = narrow(ks[i]!, window, outside.get(i)! + above[r]!, hists[r]!);
      if ('cut' in step) {
        cuts[i] = step.cut;
        windows.delete(i);
      } else if (step.window.lo >= window.lo && step.window.hi <= window.hi && step.window.hi - step.window.lo < window.hi - window.lo) {
        windows.set(i, step.window);
      } else {
        return null;
      }
    }
  }
  return cuts as TiesCut[];
}
