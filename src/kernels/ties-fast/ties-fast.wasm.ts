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
 *
 * The module is about 110 KB (a main loop per model count, pass kind and flags): compiled
 * synchronously, which Node and workers allow. Engines without wasm SIMD get null and keep
 * the TypeScript twin.
 */
import { wasmKernelModule } from '../wasm-module';
import { TIES_FAST_WASM_BASE64 } from './ties-fast.wasm.gen';
import type { TiesVote } from '../task-vector/params';
import { cutsFromRecords, DeferredRecords } from './ties-deferred';
import { ROW, TIES_CHUNK, TIES_PARAM_STRIDE, TIES_WASM_MAX_MODELS } from './ties-fast.wat';
import { refineCuts, SAMPLE_BUCKETS, startingSteps, trimCounts, WINDOW_BINS, windowBins, type KeyWindow, type Sampler, type Step, type TiesCut } from './ties-select';

/** Floats per chunk: large copies run near memcpy speed (small ones pay per piece), and the buffers stay in L3. */
const CHUNK = TIES_CHUNK;
const CHUNK_BYTES = 4 * CHUNK;
const PAGE = 65536;

const kernelModule = wasmKernelModule(TIES_FAST_WASM_BASE64);

export const tiesFastWasmBytes = kernelModule.bytes;

interface Exports {
  window(x: number, b: number, n: number, lo: number, hi: number, shift: number, hist: number): number;
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

export interface TiesFastParams {
  /** f32 weights, one per model. */
  w32: Float32Array;
  densities: readonly number[];
  lambda: number;
  normalize: boolean;
  vote: TiesVote;
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

/** The fast TIES on its own memory; one instance serves every call. */
export class TiesFastWasm {
  private readonly exports: Exports;
  private layout: Layout = layoutFor(0);
  private heap = new Float32Array(0);
  private heapI32 = new Int32Array(0);
  private heapU32 = new Uint32Array(0);
  /** The speculative pass's records and their outputs, kept between calls (they are about 1% of a tensor). */
  private records: DeferredRecords | null = null;
  private recordsOut = new Float32Array(0);
  /** How the last merge ran: one speculative pass, or window passes then the exact pass (tests read it). */
  lastPath: 'speculative' | 'exact' = 'exact';

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
        above[slot]! += this.exports.window(xs + slot * CHUNK_BYTES, b, len, w.lo, w.hi, w.shift, hists + slot * 4 * WINDOW_BINS);
      }
    }
    return { above, hists: views };
  }

  /**
   * The merge pass: trim by the rows, vote, disjoint merge, out = base + λ·merged. With
   * `records`, deferred elements are collected there; returns each model's count of keys
   * above its row's hi, or null once the records overflow (out is then incomplete).
   */
  mergePass(models: readonly Float32Array[], base: Float32Array, out: Float32Array, rows: readonly MergeRow[], p: TiesFastParams, records: DeferredRecords | null): number[] | null {
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
      if (deferred > 0 && records && !records.append(heap, heapI32, rec / 4, CHUNK, deferred, start, len)) return null;
    }
    return rows.map((_, m) => heapI32[row(m) + ROW.above / 4]!);
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
      const above = this.mergePass(models, base, out, steps.map(speculativeRow), p, records);
      if (above && this.mergeRecords(records, ks, steps, above, p, out)) {
        this.lastPath = 'speculative';
        return;
      }
    }
    this.lastPath = 'exact';
    const cuts = refineCuts(ks, steps, (which, windows) => this.windowPass(models, base, which, windows));
    this.mergePass(models, base, out, cuts.map(exactRow), p, null);
  }
}

let shared: TiesFastWasm | null | undefined;

/** The process's fast TIES, or null where wasm SIMD is unavailable. */
export function tiesFastWasm(): TiesFastWasm | null {
  if (shared === undefined) shared = TiesFastWasm.create();
  return shared;
}
