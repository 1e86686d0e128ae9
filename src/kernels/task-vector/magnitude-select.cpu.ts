/**
 * Top-k by magnitude without sorting: radix (histogram) select on f32 bit patterns.
 * CPU twin of magnitude-select.wgsl.ts; TIES trimming uses it once per model and tensor.
 *
 * For x ≥ 0 the IEEE-754 bit pattern read as u32 is monotonic in x, so |x| is ranked by
 * `bits & 0x7fffffff` (31 significant bits; +0 and −0 are the same key). Three histogram
 * passes over the data (key bits 30..20, 19..10, 9..0: 2048 / 1024 / 1024 bins) narrow
 * the bucket holding the k-th largest key: O(n) per pass, no sort, no copy of the data.
 *
 * The cut is exact: order the elements by (|x| descending, index ascending) and keep the
 * first k. Elements strictly above the threshold are all kept; of those equal to it
 * (duplicates are common in deltas of bf16/f16 checkpoints) the lowest indices are kept,
 * up to k in total. A tie-breaking pass runs only when the ties straddle the cut.
 * mergekit's `magnitude` sparsifier keeps exactly k too (argsort, arbitrary tie order),
 * with k = int(density·n); we use k = round(density·n) (trimCount).
 *
 * NaN is ranked by its bit pattern, above +Inf: inputs are expected to be finite.
 * Pure module: typed arrays in, plain objects out.
 */
import { KernelParamsError } from '../errors';

/** One histogram pass: bin = (key >> shift) & (2^bits − 1), among keys whose higher bits match the prefix. */
export interface RadixPass {
  shift: number;
  bits: number;
}

/** Passes over the 31-bit magnitude key, most significant first. */
export const MAGNITUDE_PASSES: readonly RadixPass[] = [
  { shift: 20, bits: 11 },
  { shift: 10, bits: 10 },
  { shift: 0, bits: 10 },
];

/** Passes over a 32-bit element index (GPU tie-break: the need-th tie in index order). */
export const INDEX_PASSES: readonly RadixPass[] = [
  { shift: 21, bits: 11 },
  { shift: 10, bits: 11 },
  { shift: 0, bits: 10 },
];

/** Bins of the largest pass; the GPU histogram buffer holds this many u32. */
export const HISTOGRAM_BINS = 2048;

/** Magnitude key of k = 0: above every real key, so nothing is kept. */
export const KEEP_NONE_BITS = 0xffff_ffff;

/**
 * Which elements a top-k keeps: key > thresholdBits, or key == thresholdBits and index < tieEnd.
 * Exactly min(k, n) elements satisfy it.
 */
export interface MagnitudeCut {
  /** |x| bit pattern of the k-th largest magnitude (KEEP_NONE_BITS when k = 0). */
  thresholdBits: number;
  /** Ties (key == thresholdBits) with a tensor-local index below this are kept. */
  tieEnd: number;
}

/** Elements kept at a density in [0, 1]: round(density·n) (halves round up), the same on both twins. */
export function trimCount(density: number, n: number): number {
  if (!(density >= 0 && density <= 1)) {
    throw new KernelParamsError(`magnitude-select.cpu.ts: density must be in [0, 1], got ${density}`);
  }
  return Math.min(n, Math.round(density * n));
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The f32 whose bit pattern is bits. */
export function floatFromBits(bits: number): number {
  u32Scratch[0] = bits;
  return f32Scratch[0]!;
}

/** The magnitude key of x (|fround(x)| as u32). */
export function magnitudeBits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0]! & 0x7fff_ffff;
}

// Delta keys are produced a block at a time into this scratch (fits L1), so the select
// never materialises θ − base for the whole tensor.
const BLOCK = 4096;
const blockF32 = new Float32Array(BLOCK);
const blockU32 = new Uint32Array(blockF32.buffer);
const histogram = new Uint32Array(HISTOGRAM_BINS);

function histogramRange(
  keys: Uint32Array,
  end: number,
  shift: number,
  mask: number,
  filterShift: number,
  prefixHigh: number,
): void {
  const h = histogram;
  if (filterShift >= 31) {
    for (let j = 0; j < end; j++) h[((keys[j]! & 0x7fff_ffff) >>> shift) & mask]!++;
  } else {
    for (let j = 0; j < end; j++) {
      const key = keys[j]! & 0x7fff_ffff;
      if (key >>> filterShift === prefixHigh) h[(key >>> shift) & mask]!++;
    }
  }
}

/** Index (relative to start) of the `need`-th key equal to bits within keys[0, end), or -1 with the count seen. */
function findTie(keys: Uint32Array, end: number, bits: number, need: number): { at: number; seen: number } {
  let seen = 0;
  for (let j = 0; j < end; j++) {
    if ((keys[j]! & 0x7fff_ffff) === bits && ++seen === need) return { at: j, seen };
  }
  return { at: -1, seen };
}

function checkInputs(values: Float32Array, base: Float32Array | null, k: number): void {
  if (base && base.length !== values.length) {
    throw new KernelParamsError(`magnitude-select.cpu.ts: lengths differ (values ${values.length}, base ${base.length})`);
  }
  if (!Number.isInteger(k) || k < 0) {
    throw new KernelParamsError(`magnitude-select.cpu.ts: k must be a non-negative integer, got ${k}`);
  }
}

/**
 * Run fn over the magnitude keys of values (or of fround(values − base)) in blocks.
 * The values-only path reads the bits in place through a Uint32Array view.
 */
function forEachKeyBlock(
  values: Float32Array,
  base: Float32Array | null,
  fn: (keys: Uint32Array, start: number, count: number) => boolean | void,
): void {
  const n = values.length;
  if (!base) {
    fn(new Uint32Array(values.buffer, values.byteOffset, n), 0, n);
    return;
  }
  for (let start = 0; start < n; start += BLOCK) {
    const count = Math.min(BLOCK, n - start);
    for (let j = 0; j < count; j++) blockF32[j] = values[start + j]! - base[start + j]!;
    if (fn(blockU32, start, count) === true) return;
  }
}

function selectBits(values: Float32Array, base: Float32Array | null, k: number): { bits: number; need: number; ties: number } {
  let prefix = 0;
  let remaining = k;
  let ties = 0;
  for (const [p, { shift, bits }] of MAGNITUDE_PASSES.entries()) {
    const filterShift = p === 0 ? 31 : shift + bits;
    const prefixHigh = prefix >>> filterShift;
    const mask = (1 << bits) - 1;
    histogram.fill(0, 0, 1 << bits);
    forEachKeyBlock(values, base, (keys, _start, count) => {
      histogramRange(keys, count, shift, mask, filterShift, prefixHigh);
    });
    let cum = 0;
    let chosen = 0;
    for (let b = mask; b >= 0; b--) {
      const c = histogram[b]!;
      if (cum + c >= remaining) {
        chosen = b;
        break;
      }
      cum += c;
    }
    remaining -= cum;
    ties = histogram[chosen]!;
    prefix = (prefix | (chosen << shift)) >>> 0;
  }
  return { bits: prefix, need: remaining, ties };
}

/**
 * The exact top-k cut of |values| (or of |values − base|, computed in f32 on the fly).
 * k ≥ n keeps everything; k = 0 keeps nothing.
 */
export function topKMagnitudeCut(values: Float32Array, k: number, base: Float32Array | null = null): MagnitudeCut {
  checkInputs(values, base, k);
  const n = values.length;
  if (k === 0) return { thresholdBits: KEEP_NONE_BITS, tieEnd: 0 };
  if (k >= n) return { thresholdBits: 0, tieEnd: n };
  const { bits, need, ties } = selectBits(values, base, k);
  if (need === ties) return { thresholdBits: bits, tieEnd: n };
  let tieEnd = n;
  let needLeft = need;
  forEachKeyBlock(values, base, (keys, start, count) => {
    const { at, seen } = findTie(keys, count, bits, needLeft);
    if (at >= 0) {
      tieEnd = start + at + 1;
      return true;
    }
    needLeft -= seen;
    return false;
  });
  return { thresholdBits: bits, tieEnd };
}

/** The k-th largest |x| (1 ≤ k ≤ n), by histogram select: three O(n) passes, no sort, no copy. */
export function kthLargestMagnitude(values: Float32Array, k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > values.length) {
    throw new KernelParamsError(`magnitude-select.cpu.ts: k must be an integer in [1, ${values.length}], got ${k}`);
  }
  return floatFromBits(selectBits(values, null, k).bits);
}

/** Whether the element with magnitude key `bits` at tensor-local index j survives the cut. */
export function keptByCut(cut: MagnitudeCut, bits: number, j: number): boolean {
  return bits > cut.thresholdBits || (bits === cut.thresholdBits && j < cut.tieEnd);
}
