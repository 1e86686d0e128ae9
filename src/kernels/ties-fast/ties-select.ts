/**
 * The exact top-k magnitude cut of each task vector for the fast TIES, in as few passes over
 * the tensors as the data allows (one window pass before the exact merge pass, usually; the
 * speculative merge pass of ties-fast.wasm.ts takes the sampled windows and needs none):
 *   1. a sample of τ's keys (about 2^20, in page-sized blocks) places the k-th largest key
 *      between two sample order statistics a few standard errors either side of its rank;
 *   2. a window pass counts the keys above that window exactly and bins those inside it
 *      (one bin per key when the window spans at most WINDOW_BINS keys, else coarser);
 *   3. the bin holding the k-th key becomes the next window, until a bin is one key.
 * A sample that misses (the k-th key outside the window) restarts from the whole key
 * range, so the result never depends on the sample, only the pass count does.
 *
 * The cut is the one magnitude-select.cpu.ts defines: order by (|τ| desc, index asc), keep
 * the first k. As (threshold, ties): keep key > threshold, and of the keys equal to it the
 * first `ties` in index order (the merge pass counts them as it streams).
 * Pure module: typed arrays in, plain objects out; the passes come from the caller.
 */
import { trimCount } from '../task-vector/magnitude-select.cpu';

/** Bins of one window's histogram: a window this wide in keys resolves to one key a bin. */
export const WINDOW_BINS = 1 << 18;

const KEY_MAX = 0x7fff_ffff;
/** About this many keys are sampled per model, in blocks of SAMPLE_BLOCK floats (a page: the sample streams). */
export const SAMPLE_TARGET = 1 << 20;
export const SAMPLE_BLOCK = 1024;
const SAMPLE_BUCKET_SHIFT = 15;

/** Keep key > threshold, and the first `ties` keys equal to it in index order. */
export interface TiesCut {
  /** −1 keeps everything; KEY_MAX with ties 0 keeps nothing. */
  threshold: number;
  ties: number;
}

/** Keys in [lo, hi] go to bin (key − lo) >> shift; keys above hi are only counted. */
export interface KeyWindow {
  lo: number;
  hi: number;
  shift: number;
}

/** One pass over the tensors for the listed models: keys above each window, and each window's bins (zeroed by the pass). */
export type WindowPass = (models: readonly number[], windows: readonly KeyWindow[]) => { above: number[]; hists: Uint32Array[] };

const sampleHist = new Uint32Array(1 << (31 - SAMPLE_BUCKET_SHIFT));
const LOW_MASK = (1 << SAMPLE_BUCKET_SHIFT) - 1;
const lowHistHi = new Uint32Array(LOW_MASK + 1);
const lowHistLo = new Uint32Array(LOW_MASK + 1);
const blockF32 = new Float32Array(SAMPLE_BLOCK);
const blockU32 = new Uint32Array(blockF32.buffer);
let sampleKeys = new Uint32Array(0);

function bitLength(x: number): number {
  return 32 - Math.clz32(x);
}

/** The window [lo, hi] with the coarsest shift that keeps it within WINDOW_BINS bins. */
export function keyWindow(lo: number, hi: number): KeyWindow {
  return { lo, hi, shift: Math.max(0, bitLength(hi - lo) - bitLength(WINDOW_BINS - 1)) };
}

/** Binned count of bins for a window. */
export function windowBins(w: KeyWindow): number {
  return ((w.hi - w.lo) >>> w.shift) + 1;
}

export const FULL_RANGE = keyWindow(0, KEY_MAX);

/** The bucket of sample rank r (1 = largest), and how many sampled keys lie in higher buckets. */
function bucketOfRank(hist: Uint32Array, r: number): { bucket: number; above: number } {
  let above = 0;
  let bucket = SAMPLE_BUCKETS - 1;
  for (; bucket > 0; bucket--) {
    if (above + hist[bucket]! >= r) break;
    above += hist[bucket]!;
  }
  return { bucket, above };
}

/** The key of rank r within its bucket (from that bucket's histogram of low bits), and how many sampled keys lie above it and at it. */
function keyInBucket(low: Uint32Array, bucket: number, above: number, r: number): { key: number; greater: number; atLeast: number } {
  let cum = above;
  let bits = LOW_MASK;
  for (; bits > 0; bits--) {
    if (cum + low[bits]! >= r) break;
    cum += low[bits]!;
  }
  return { key: bucket * (LOW_MASK + 1) + bits, greater: cum, atLeast: cum + low[bits]! };
}

/** The keys of sample ranks rHi ≤ rLo (1 = largest) among keys[0, count), in one scan of the sample; the sampled keys above the first and at or above the second. */
function sampleKeysAt({ keys, count, hist }: KeySample, rHi: number, rLo: number): { hi: number; lo: number; hiGreater: number; loAtLeast: number } {
  const hiBucket = bucketOfRank(hist, rHi);
  const loBucket = bucketOfRank(hist, rLo);
  lowHistHi.fill(0);
  lowHistLo.fill(0);
  for (let j = 0; j < count; j++) {
    const bucket = keys[j]! >>> SAMPLE_BUCKET_SHIFT;
    if (bucket === hiBucket.bucket) lowHistHi[keys[j]! & LOW_MASK]!++;
    if (bucket === loBucket.bucket) lowHistLo[keys[j]! & LOW_MASK]!++;
  }
  const hi = keyInBucket(lowHistHi, hiBucket.bucket, hiBucket.above, rHi);
  const lo = keyInBucket(lowHistLo, loBucket.bucket, loBucket.above, rLo);
  return { hi: hi.key, lo: lo.key, hiGreater: hi.greater, loAtLeast: lo.atLeast };
}

/** Sampled keys of a task vector and their histogram over the top bits (key >>> SAMPLE_BUCKET_SHIFT). */
export interface KeySample {
  keys: Uint32Array;
  count: number;
  hist: Uint32Array;
}

/** Takes the sample: blocks of `block` floats, one at each multiple of `period`. */
export type Sampler = (m: Float32Array, b: Float32Array, period: number, block: number) => KeySample;

/** Buckets of a sample's histogram. */
export const SAMPLE_BUCKETS = 1 << (31 - SAMPLE_BUCKET_SHIFT);

/** The sampler in TypeScript (the kernel has its own in WebAssembly, the same keys). */
export function sampleKeysTs(m: Float32Array, b: Float32Array, period: number, block: number): KeySample {
  const n = m.length;
  const capacity = Math.ceil(n / period) * block;
  if (sampleKeys.length < capacity) sampleKeys = new Uint32Array(capacity);
  const keys = sampleKeys;
  sampleHist.fill(0);
  let count = 0;
  for (let start = 0; start < n; start += period) {
    const len = Math.min(n - start, block);
    for (let j = 0; j < len; j++) blockF32[j] = m[start + j]! - b[start + j]!;
    for (let j = 0; j < len; j++) {
      const key = blockU32[j]! & KEY_MAX;
      keys[count++] = key;
      sampleHist[key >>> SAMPLE_BUCKET_SHIFT]!++;
    }
  }
  return { keys, count, hist: sampleHist };
}

/**
 * A window likely to hold the k-th largest key of fround(m − b), from a sample of blocks of
 * the tensor, and the share of the sample inside it (what a speculative pass would defer).
 */
export function sampledWindow(m: Float32Array, b: Float32Array, k: number, sampler: Sampler = sampleKeysTs): { window: KeyWindow; share: number } {
  const n = m.length;
  // Blocks of SAMPLE_BLOCK floats, one every `period`: the sample reads about 1/(period/SAMPLE_BLOCK) of the tensor.
  const sample = sampler(m, b, SAMPLE_BLOCK * Math.max(1, Math.floor(n / SAMPLE_TARGET)), SAMPLE_BLOCK);
  const count = sample.count;
  // The k-th largest of n lies near rank k·count/n of the sample, with a standard error of
  // about sqrt(rank·(1 − k/n)); four of those either side (and a few ranks) rarely miss,
  // and a miss costs passes, never bits.
  const rank = (k * count) / n;
  const margin = 4 * Math.sqrt(rank * (1 - k / n)) + 4;
  const rHi = Math.max(1, Math.floor(rank - margin));
  const rLo = Math.min(count, Math.ceil(rank + margin));
  const at = sampleKeysAt(sample, rHi, rLo);
  const openBelow = rLo >= count;
  const openAbove = rHi <= 1;
  // The sampled keys in [lo, hi]: from the top (or everything) down to the low end (or the bottom).
  const inside = (openBelow ? count : at.loAtLeast) - (openAbove ? 0 : at.hiGreater);
  return { window: keyWindow(openBelow ? 0 : at.lo, openAbove ? KEY_MAX : at.hi), share: inside / count };
}

/** Where a model's cut stands: known, or to be looked for in a window. */
export type Step = { cut: TiesCut } | { window: KeyWindow; share?: number };

/** What a window pass tells about the k-th largest key: the cut, or the next window to look in. */
export function narrow(k: number, w: KeyWindow, above: number, hist: Uint32Array): Step {
  const bins = windowBins(w);
  let inside = 0;
  for (let b = 0; b < bins; b++) inside += hist[b]!;
  if (above >= k || above + inside < k) return { window: FULL_RANGE };
  let cum = 0;
  let b = bins - 1;
  for (; b > 0; b--) {
    if (above + cum + hist[b]! >= k) break;
    cum += hist[b]!;
  }
  const lo = w.lo + b * 2 ** w.shift;
  if (w.shift === 0) return { cut: { threshold: lo, ties: k - above - cum } };
  return { window: keyWindow(lo, Math.min(w.hi, lo + 2 ** w.shift - 1)) };
}

/**
 * Where each model starts, at its density: k = round(density·n) (trimCount); k = 0 keeps
 * nothing and k ≥ n everything (cuts at once), else a sampled window (or, with
 * without a sampler, the whole key range).
 */
export function startingSteps(models: readonly Float32Array[], base: Float32Array, ks: readonly number[], sampler: Sampler | null = sampleKeysTs): Step[] {
  const n = base.length;
  return ks.map((k, i) => {
    if (k === 0) return { cut: { threshold: KEY_MAX, ties: 0 } };
    if (k >= n) return { cut: { threshold: -1, ties: 0 } };
    return sampler ? sampledWindow(models[i]!, base, k, sampler) : { window: FULL_RANGE };
  });
}

/** Window passes until every model's cut is known. */
export function refineCuts(ks: readonly number[], steps: readonly Step[], pass: WindowPass): TiesCut[] {
  const cuts = steps.map((s) => ('cut' in s ? s.cut : null));
  const windows = new Map<number, KeyWindow>();
  steps.forEach((s, i) => {
    if ('window' in s) windows.set(i, s.window);
  });
  while (windows.size > 0) {
    const open = [...windows.keys()];
    const { above, hists } = pass(open, open.map((i) => windows.get(i)!));
    open.forEach((i, r) => {
      const step = narrow(ks[i]!, windows.get(i)!, above[r]!, hists[r]!);
      if ('cut' in step) {
        cuts[i] = step.cut;
        windows.delete(i);
      } else {
        windows.set(i, step.window);
      }
    });
  }
  return cuts as TiesCut[];
}

/** The ks of tiesMerge's densities. */
export function trimCounts(densities: readonly number[], n: number): number[] {
  return densities.map((d) => trimCount(d, n));
}
