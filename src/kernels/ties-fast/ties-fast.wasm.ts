/**
 * tiesMerge's bits in WebAssembly SIMD (ties-fast.wat.ts, assembled into ties-fast.wasm.gen.ts),
 * for tensors anywhere in JS memory: each pass copies a chunk of every model and the base
 * into the module's own memory (a memcpy from the tensors), runs the kernel there, and
 * copies the merged chunk out.
 *
 * Usually the tensors are read once: a sample of each task vector gives a window of keys
 * around its cut (ties-select.ts), one speculative merge pass writes every element whose
 * keys all lie outside the windows and records the rest (about 1–2% of a tensor), and the
 * records, which hold every key inside the windows, give the exact cuts and are merged
 * again (ties-deferred.ts). Where out aliases an input, the sample missed, or the windows
 * hold too much (heavy ties at the cut), window passes find the exact cuts first and one
 * exact merge pass writes out. Either way the bits are the twin's (task-vector/ties.cpu.ts).
 * Where every tensor of a call lives on a pooled shared memory, the merge passes and the
 * narrow window passes split over the pool's threads (ties-fast.threaded.ts); the sample,
 * the wide window passes and the records' merge stay on the caller.
 *
 * The module is about 110 KB (a main loop per model count, pass kind and flags): compiled
 * synchronously, which Node and workers allow. Engines without wasm SIMD get null and keep
 * the TypeScript twin.
 */
import { chunkPoolFor, type ChunkPool } from '../threads/pool-registry';
import { THREAD_CHUNK } from '../threads/chunked-call';
import { wasmKernelModule } from '../wasm-module';
import { TIES_FAST_WASM_BASE64 } from './ties-fast.wasm.gen';
import { cutsFromRecords, DeferredRecords } from './ties-deferred';
import { CHUNK_RECORDS, chunkSlotInts, SPLIT_WINDOW_BINS, tiesMergeCall, tiesWindowCall, type PassRow, type SplitWindow, type TiesChunkRunner, type TiesPassParams } from './ties-fast.threaded';
import { ROW, TIES_CHUNK, TIES_PARAM_STRIDE, TIES_WASM_MAX_MODELS } from './ties-fast.wat';
import { keyWindow, refineCuts, SAMPLE_BUCKETS, startingSteps, trimCounts, WINDOW_BINS, windowBins, type KeyWindow, type Sampler, type Step, type TiesCut, type WindowPass } from './ties-select';

/** Floats per chunk: large copies run near memcpy speed (small ones pay per piece), and the buffers stay in L3. */
const CHUNK = TIES_CHUNK;
const CHUNK_BYTES = 4 * CHUNK;
const PAGE = 65536;

const kernelModule = wasmKernelModule(TIES_FAST_WASM_BASE64);

export const tiesFastWasmBytes = kernelModule.bytes;

interface Exports {
  window(x: number, b: number, n: number, lo: number, hi: number, shift: number, hist: number): number;
  window_count(x: number, b: number, n: number, lo: number, hi: number, hist: number): number;
  sample(x: number, b: number, n: number, keys: number, hist: number): void;
  [merge: `merge_${number}`]: (n4: number, vote: number, lambda: number, normalize: number, speculative: number, params: number, xs: number, stride: number, b: number, out: number, records: number, list: number) => number;
}

/** Where each buffer lies in memory for `count` models (byte offsets). */
interface Layout {
  count: number;
  params: number;
  xs: number;
  base: number;
  out: number;
  records: number;
  list: number;
  hists: number;
  sampleHist: number;
  /** The sampled keys lie from here on (as many as a call needs). */
  sampleKeys: number;
}

function layoutFor(count: number): Layout {
  const params = 0;
  const xs = Math.ceil((count * TIES_PARAM_STRIDE) / 64) * 64;
  const base = xs + count * CHUNK_BYTES;
  const out = base + CHUNK_BYTES;
  const records = out + CHUNK_BYTES;
  const list = records + CHUNK_BYTES * (count + 2);
  const hists = list + CHUNK;
  const sampleHist = hists + count * 4 * WINDOW_BINS;
  return { count, params, xs, base, out, records, list, hists, sampleHist, sampleKeys: sampleHist + 4 * SAMPLE_BUCKETS };
}

/** The pass's weights (f32, one per model), λ, normalize and vote, and each model's density. */
export interface TiesFastParams extends TiesPassParams {
  densities: readonly number[];
}

/** One model's row for the merge pass: keep key > hi (and ties == hi while they last), defer keys in (loExclusive, hi]. */
interface MergeRow {
  hi: number;
  ties: number;
  loExclusive: number;
}

const exactRow = (cut: TiesCut): MergeRow => ({ hi: cut.threshold, ties: cut.ties, loExclusive: cut.threshold - 1 });
const speculativeRow = (step: Step): MergeRow => ('cut' in step ? exactRow(step.cut) : { hi: step.window.hi, ties: 0, loExclusive: step.window.lo - 1 });

function overlaps(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Whether each chunk can be merged apart from the others: out apart from every input, or exactly one of them (a chunk reads its inputs before it writes). */
function chunkwise(out: Float32Array, inputs: readonly Float32Array[]): boolean {
  return inputs.every((x) => !overlaps(out, x) || (x.byteOffset === out.byteOffset && x.length === out.length));
}

/** A split window pass's result, and where its counts stay in the side area until the next call. */
interface SplitCounts {
  above: number[];
  hists: Uint32Array[];
  which: readonly number[];
  windows: SplitWindow[];
  slotInts: number;
}

/** The fast TIES on its own memory; one instance serves every call (and, on a kernel thread, that thread's chunks). */
export class TiesFastWasm implements TiesChunkRunner {
  private readonly exports: Exports;
  private layout: Layout = layoutFor(0);
  private heap = new Float32Array(0);
  private heapI32 = new Int32Array(0);
  private heapU32 = new Uint32Array(0);
  /** The speculative pass's records and their outputs, kept between calls (they are about 1% of a tensor). */
  private records: DeferredRecords | null = null;
  private recordsOut = new Float32Array(0);
  /** Records of a speculative loop that defers nothing (empty windows). */
  private readonly noRecords = new DeferredRecords(0);
  /** A kernel thread's records of one chunk (the caller's own chunks too: apart from `records`). */
  private chunkRecords: DeferredRecords | null = null;
  /** How the last merge ran: one speculative pass, or window passes then the exact pass (tests read it). */
  lastPath: 'speculative' | 'exact' = 'exact';
  /** Whether the last merge's merge pass was split over a pool's threads. */
  lastSplit = false;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
  ) {
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
  }

  /** The kernel, or null where wasm SIMD is unavailable. */
  static create(): TiesFastWasm | null {
    const module = kernelModule.sync();
    return module ? new TiesFastWasm(new WebAssembly.Memory({ initial: 1 }), module) : null;
  }

  /** Whether a merge of `count` models runs here (else the TypeScript twin). */
  takes(count: number): boolean {
    return count >= 1 && count <= TIES_WASM_MAX_MODELS;
  }

  /** The layout for `count` models, with room for `sampleKeys` sampled keys after it. */
  private prepare(count: number, sampleKeys = 0): Layout {
    const layout = this.layout.count === count ? this.layout : layoutFor(count);
    const missing = layout.sampleKeys + 4 * sampleKeys - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    if (layout !== this.layout || missing > 0) {
      this.heap = new Float32Array(this.memory.buffer);
      this.heapI32 = new Int32Array(this.memory.buffer);
      this.heapU32 = new Uint32Array(this.memory.buffer);
      this.layout = layout;
    }
    return layout;
  }

  /** ties-select.ts's Sampler in the kernel: blocks gathered into the chunk buffers, keys and histogram in this memory. */
  readonly sampler: Sampler = (m, b, period, block) => {
    const n = m.length;
    const capacity = Math.ceil(n / period) * block;
    const { xs, base, sampleHist, sampleKeys } = this.prepare(this.layout.count || 1, capacity);
    const hist = this.heapU32.subarray(sampleHist / 4, sampleHist / 4 + SAMPLE_BUCKETS);
    hist.fill(0);
    let count = 0;
    let gathered = 0;
    const flush = () => {
      this.exports.sample(xs, base, gathered, sampleKeys + 4 * count, sampleHist);
      count += gathered;
      gathered = 0;
    };
    for (let start = 0; start < n; start += period) {
      const len = Math.min(n - start, block);
      if (gathered + len > CHUNK) flush();
      this.heap.set(m.subarray(start, start + len), xs / 4 + gathered);
      this.heap.set(b.subarray(start, start + len), base / 4 + gathered);
      gathered += len;
    }
    flush();
    return { keys: this.heapU32.subarray(sampleKeys / 4, sampleKeys / 4 + count), count, hist };
  };

  /** Copies elements [start, start + len) of each listed model and of the base into the chunk buffers, zero-padded to a multiple of 4. */
  private load(models: readonly Float32Array[], which: readonly number[], base: Float32Array, start: number, len: number): void {
    const { xs, base: b } = this.layout;
    const pad = ((len + 3) & ~3) - len;
    const put = (v: Float32Array, at: number) => {
      this.heap.set(v.subarray(start, start + len), at);
      if (pad > 0) this.heap.fill(0, at + len, at + len + pad);
    };
    which.forEach((i, slot) => put(models[i]!, (xs + slot * CHUNK_BYTES) / 4));
    put(base, b / 4);
  }

  /** One window pass (ties-select.ts's WindowPass) over the listed models. */
  windowPass(models: readonly Float32Array[], base: Float32Array, which: readonly number[], windows: readonly KeyWindow[]): { above: number[]; hists: Uint32Array[] } {
    const { xs, base: b, hists } = this.prepare(models.length);
    const n = base.length;
    const above = which.map(() => 0);
    const views = windows.map((w, slot) => {
      const view = this.heapU32.subarray(hists / 4 + slot * WINDOW_BINS, hists / 4 + slot * WINDOW_BINS + windowBins(w));
      view.fill(0);
      return view;
    });
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start);
      this.load(models, which, base, start, len);
      for (let slot = 0; slot < which.length; slot++) {
        const w = windows[slot]!;
        const [x, hist] = [xs + slot * CHUNK_BYTES, hists + slot * 4 * WINDOW_BINS];
        // One bin (the cut's key where many tie): counted in vectors, not key by key.
        above[slot]! += views[slot]!.length === 1 ? this.exports.window_count(x, b, len, w.lo, w.hi, hist) : this.exports.window(x, b, len, w.lo, w.hi, w.shift, hist);
      }
    }
    return { above, hists: views };
  }

  /**
   * The merge pass: trim by the rows, vote, disjoint merge, out = base + λ·merged. With
   * `records`, deferred elements are collected there (their indices shifted by `offset`);
   * returns each model's count of keys above its row's hi, or null once the records
   * overflow (out is then incomplete).
   */
  mergePass(models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly MergeRow[], p: TiesPassParams, records: DeferredRecords | null, offset = 0): number[] | null {
    const count = models.length;
    const { params, xs, base: b, out: o, records: rec, list } = this.prepare(count);
    const heap = this.heap;
    const heapI32 = this.heapI32;
    const row = (m: number) => (params + m * TIES_PARAM_STRIDE) / 4;
    rows.forEach((r, m) => {
      heap[row(m) + ROW.weight / 4] = p.w32[m]!;
      heapI32[row(m) + ROW.hi / 4] = r.hi;
      heapI32[row(m) + ROW.ties / 4] = r.ties;
      heapI32[row(m) + ROW.loExclusive / 4] = r.loExclusive;
      heapI32[row(m) + ROW.above / 4] = 0;
    });
    const all = models.map((_, i) => i);
    const n = base.length;
    const vote = p.vote === 'count' ? 1 : 0;
    const normalize = p.normalize ? 1 : 0;
    const merge = this.exports[`merge_${count}`]!;
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start);
      this.load(models, all, base, start, len);
      const deferred = merge((len + 3) & ~3, vote, p.lambda, normalize, records ? 1 : 0, params, xs, CHUNK_BYTES, b, o, rec, list);
      out.set(heap.subarray(o / 4, o / 4 + len), start);
      if (deferred > 0 && records && !records.append(heap, heapI32, rec / 4, CHUNK, deferred, offset + start, len)) return null;
    }
    return rows.map((_, m) => heapI32[row(m) + ROW.above / 4]!);
  }

  /** One chunk of the threaded speculative pass (ties-fast.threaded.ts): out written, the slot filled. */
  speculativeChunk(models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly PassRow[], p: TiesPassParams, side: Int32Array, slot: number): void {
    if (this.chunkRecords?.models !== models.length) this.chunkRecords = new DeferredRecords(models.length);
    const records = this.chunkRecords.reset(CHUNK_RECORDS);
    const above = this.mergePass(models, base, out, rows.map((r) => ({ ...r, ties: 0 })), p, records);
    side[slot] = above ? records.count : -1;
    if (!above) return;
    side.set(above, slot + 1);
    records.writeColumns(side, slot + 1 + models.length, CHUNK_RECORDS);
  }

  /**
   * The speculative pass split over `pool`'s threads: out written, the chunks' records
   * appended in chunk order (a chunk that overflowed its slot run again here), and `above`,
   * each model's count above its window, or null where the records pass their capacity
   * (out is then incomplete). Null where the call cannot split (no room in the side area).
   */
  private speculativeSplit(pool: ChunkPool, models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly MergeRow[], p: TiesFastParams, records: DeferredRecords): { above: number[] | null } | null {
    const call = tiesMergeCall('speculative', models, base, out, rows, p);
    const n = base.length;
    const chunks = Math.ceil(n / THREAD_CHUNK);
    const slotInts = chunkSlotInts(models.length);
    const side = call && pool.side(chunks * slotInts);
    if (!call || !side) return null;
    pool.run(call);
    const overflow = { above: null };
    const above = models.map(() => 0);
    for (let c = 0; c < chunks; c++) {
      const slot = c * slotInts;
      const deferred = side[slot]!;
      const start = c * THREAD_CHUNK;
      let chunkAbove: ArrayLike<number> | null = side.subarray(slot + 1, slot + 1 + models.length);
      if (deferred >= 0) {
        if (!records.appendColumns(side, slot + 1 + models.length, CHUNK_RECORDS, deferred, start)) return overflow;
      } else {
        const end = Math.min(n, start + THREAD_CHUNK);
        chunkAbove = this.mergePass(models.map((m) => m.subarray(start, end)), base.subarray(start, end), out.subarray(start, end), rows, p, records, start);
        if (!chunkAbove) return overflow;
      }
      for (let m = 0; m < models.length; m++) above[m]! += chunkAbove[m]!;
    }
    return { above };
  }

  /**
   * One chunk of the split exact merge pass: each model's ties kept up to the chunk's budget.
   * Where every model keeps all of the chunk's ties or none, a cut without ties says the same
   * (keep key ≥ hi, or key > hi): the speculative loop with empty windows, no vector redone.
   */
  exactChunk(models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly PassRow[], ties: readonly number[], tied: readonly number[], p: TiesPassParams): void {
    if (rows.every((_, m) => ties[m] === 0 || ties[m]! >= tied[m]!)) {
      const whole = rows.map((r, m) => (ties[m]! > 0 ? r.hi - 1 : r.hi)).map((hi) => ({ hi, ties: 0, loExclusive: hi }));
      this.mergePass(models, base, out, whole, p, this.noRecords.reset(0));
      return;
    }
    this.mergePass(models, base, out, rows.map((r, m) => ({ ...r, ties: ties[m]! })), p, null);
  }

  /** One chunk of a split window pass: each window's count above it and its bins, at its offset in the slot. */
  windowChunk(models: readonly Float32Array[], base: Float32Array, windows: readonly SplitWindow[], side: Int32Array, slot: number): void {
    const { above, hists } = this.windowPass(models, base, models.map((_, i) => i), windows);
    windows.forEach((w, r) => {
      side[slot + w.offset] = above[r]!;
      side.set(hists[r]!, slot + w.offset + 1);
    });
  }

  /** A window pass split over `pool` (ties-select.ts's WindowPass), the chunks' counts added; null where a window has too many bins or the side area no room. */
  private windowSplit(pool: ChunkPool, models: readonly Float32Array[], base: Float32Array, which: readonly number[], windows: readonly KeyWindow[]): SplitCounts | null {
    if (windows.some((w) => windowBins(w) > SPLIT_WINDOW_BINS)) return null;
    let slotInts = 0;
    const split = windows.map((w) => {
      const offset = slotInts;
      slotInts += 1 + windowBins(w);
      return { ...w, offset };
    });
    const chunks = Math.ceil(base.length / THREAD_CHUNK);
    const call = tiesWindowCall(which.map((i) => models[i]!), base, split, slotInts);
    const side = call && pool.side(chunks * slotInts);
    if (!call || !side) return null;
    pool.run(call);
    const above = split.map(() => 0);
    const hists = split.map((w) => new Uint32Array(windowBins(w)));
    for (let c = 0; c < chunks; c++) {
      split.forEach((w, r) => {
        const at = c * slotInts + w.offset;
        above[r]! += side[at]!;
        const hist = hists[r]!;
        for (let b = 0; b < hist.length; b++) hist[b]! += side[at + 1 + b]!;
      });
    }
    return { above, hists, which, windows: split, slotInts };
  }

  /**
   * Each model's budget of ties per chunk, then its count of them (chunk-major, 2 × `models`
   * per chunk): the ties its cut keeps less those in the chunks before. The chunks' counts of each cut's key come from
   * `last`, the window pass that found the cuts, where it binned that key alone; else from a
   * split window pass of the keys. Null where that pass cannot split.
   */
  private tieBudgets(pool: ChunkPool, models: readonly Float32Array[], base: Float32Array, cuts: readonly TiesCut[], last: SplitCounts | null): Int32Array | null {
    const chunks = Math.ceil(base.length / THREAD_CHUNK);
    const c2 = 2 * models.length;
    const budgets = new Int32Array(chunks * c2);
    const tied = cuts.flatMap((cut, m) => (cut.ties > 0 ? [m] : []));
    if (tied.length === 0) return budgets;
    const binned = (counts: SplitCounts | null, m: number) => {
      const r = counts ? counts.which.indexOf(m) : -1;
      const w = counts?.windows[r];
      const t = cuts[m]!.threshold;
      return w && w.shift === 0 && w.lo <= t && t <= w.hi ? w.offset + 1 + (t - w.lo) : -1;
    };
    const counts = tied.every((m) => binned(last, m) >= 0)
      ? last
      : this.windowSplit(pool, models, base, tied, tied.map((m) => keyWindow(cuts[m]!.threshold, cuts[m]!.threshold)));
    const side = counts && pool.side(chunks * counts.slotInts);
    if (!counts || !side) return null;
    for (const m of tied) {
      const at = binned(counts, m);
      let left = cuts[m]!.ties;
      for (let c = 0; c < chunks; c++) {
        const tied = side[c * counts.slotInts + at]!;
        budgets[c * c2 + m] = left;
        budgets[c * c2 + models.length + m] = tied;
        left = Math.max(0, left - tied);
      }
    }
    return budgets;
  }

  /** The exact merge pass split over `pool`, each chunk with its budgets of ties; false where it cannot split. */
  private exactSplit(pool: ChunkPool, models: readonly Float32Array[], base: Float32Array, out: Float32Array, cuts: readonly TiesCut[], p: TiesPassParams, last: SplitCounts | null): boolean {
    const budgets = this.tieBudgets(pool, models, base, cuts, last);
    const call = tiesMergeCall('exact', models, base, out, cuts.map(exactRow), p);
    const side = budgets && call && pool.side(budgets.length);
    if (!budgets || !call || !side) return false;
    side.set(budgets);
    pool.run(call);
    return true;
  }

  /** The deferred elements: their exact cuts, then their outputs through the exact merge pass. False where the sample missed. */
  private mergeRecords(records: DeferredRecords, ks: readonly number[], steps: readonly Step[], above: readonly number[], p: TiesFastParams, out: Float32Array): boolean {
    const { models, base } = records.tensor();
    const cuts = cutsFromRecords(ks, steps, above, (which, windows) => this.windowPass(models, base, which, windows));
    if (!cuts) return false;
    if (this.recordsOut.length < records.count) this.recordsOut = new Float32Array(Math.max(records.count, 2 * this.recordsOut.length));
    const merged = this.recordsOut.subarray(0, records.count);
    this.mergePass(models, base, merged, cuts.map(exactRow), p, null);
    const index = records.index;
    for (let r = 0; r < records.count; r++) out[index[r]!] = merged[r]!;
    return true;
  }

  /**
   * tiesMerge's output for already checked inputs (1 to TIES_WASM_MAX_MODELS models). Where
   * out is apart from the inputs, one speculative merge pass over sampled windows, then the
   * deferred elements; where the sample missed or too much was deferred (or out aliases an
   * input), window passes to the exact cuts and an exact merge pass.
   */
  merge(models: readonly Float32Array[], base: Float32Array, out: Float32Array, p: TiesFastParams, sample = true): void {
    const n = base.length;
    const ks = trimCounts(p.densities, n);
    this.prepare(models.length);
    const steps = startingSteps(models, base, ks, sample ? this.sampler : null);
    const windowed = steps.some((s) => 'window' in s);
    const apart = !overlaps(out, base) && models.every((m) => !overlaps(out, m));
    const capacity = Math.max(4 * CHUNK, n >>> 3);
    // The records would overflow where the windows hold much of the tensor (heavy ties at the cut).
    const deferredShare = steps.reduce((sum, s) => sum + ('window' in s ? (s.share ?? 1) : 0), 0);
    if (windowed && apart && sample && deferredShare * n < 0.5 * capacity) {
      if (this.records?.models !== models.length) this.records = new DeferredRecords(models.length);
      const records = this.records.reset(capacity);
      const rows = steps.map(speculativeRow);
      const pool = chunkPoolFor([out, base, ...models], n);
      const split = pool && this.speculativeSplit(pool, models, base, out, rows, p, records);
      this.lastSplit = split !== null;
      const above = split ? split.above : this.mergePass(models, base, out, rows, p, records);
      if (above && this.mergeRecords(records, ks, steps, above, p, out)) {
        this.lastPath = 'speculative';
        return;
      }
    }
    this.lastPath = 'exact';
    // Split over a pool where every array is on its memory: the narrow window passes, then
    // the merge pass (chunk by chunk where out is apart from the inputs or exactly one).
    const pool = chunkPoolFor([out, base, ...models], n);
    let last: SplitCounts | null = null;
    const pass: WindowPass = (which, windows) => {
      last = pool && this.windowSplit(pool, models, base, which, windows);
      return last ?? this.windowPass(models, base, which, windows);
    };
    const cuts = refineCuts(ks, steps, pass);
    this.lastSplit = pool !== null && chunkwise(out, [base, ...models]) && this.exactSplit(pool, models, base, out, cuts, p, last);
    if (!this.lastSplit) this.mergePass(models, base, out, cuts.map(exactRow), p, null);
  }
}

let shared: TiesFastWasm | null | undefined;

/** The process's fast TIES, or null where wasm SIMD is unavailable. */
export function tiesFastWasm(): TiesFastWasm | null {
  if (shared === undefined) shared = TiesFastWasm.create();
  return shared;
}
