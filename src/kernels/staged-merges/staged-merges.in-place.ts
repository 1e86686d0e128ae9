/**
 * The staged merges' chunk loops run in place on a pool's shared memory: the shared build of
 * staged-merges.wat.ts, instantiated on that memory, reads the inputs and writes the output
 * where they live, so a chunk costs no copies in or out. Each thread keeps its DARE parameter
 * block, weight lanes, sums and padded tails in its own area of the memory's scratch
 * (VectorMemory.scratch; IN_PLACE_AREA_BYTES each).
 *
 * Bits: the same exports in the same order on the same values as the staged loops
 * (staged-merges.wasm.ts), so the results are theirs: the elementwise passes run block by
 * block over STAGED_BLOCK floats as staged; a sum runs its multiple-of-4 part in place and
 * its last 1 to 3 floats padded with +0 in the area (the lanes j mod 4 stay as they are).
 * An output that overlaps an input other than exactly (or, for DARE, at all) goes to the
 * staged loops, which read every input before they write.
 */
import { laneTotals, SUM_LANES } from '../threads/chunked-call';
import type { StagedChunkRunner, StagedDareMask, StagedDareModel } from './staged-merges.threaded';
import { DareParamBlock } from './dare-param-block';
import { DARE_PARAM_BYTES, STAGED_MAX_MODELS } from './staged-merges.wat';

type KernelFn = (...args: number[]) => number;

/** Floats per in-place pass of the elementwise loops: the staged block (the inputs of one stay in L2). */
const IN_PLACE_BLOCK = 16384;
const INPUT_SLOTS = STAGED_MAX_MODELS + 1;
const WEIGHTS_AT = DARE_PARAM_BYTES;
const TAILS_AT = WEIGHTS_AT + 16 * INPUT_SLOTS;
const ACC_AT = TAILS_AT + 16 * INPUT_SLOTS;
/** The sums' lanes: the most any loop keeps (stats_N of STAGED_MAX_MODELS models; DARE norms: 2 per model). */
const ACC_SLOTS = SUM_LANES * Math.max(STAGED_MAX_MODELS + (STAGED_MAX_MODELS * (STAGED_MAX_MODELS - 1)) / 2, 2 * INPUT_SLOTS);
/** Bytes of one thread's area in the scratch. */
export const IN_PLACE_AREA_BYTES = Math.ceil((ACC_AT + 8 * ACC_SLOTS) / 256) * 256;

const end = (a: Float32Array) => a.byteOffset + a.byteLength;
const disjoint = (a: Float32Array, b: Float32Array) => end(a) <= b.byteOffset || end(b) <= a.byteOffset;

export class StagedMergesInPlace implements StagedChunkRunner {
  private readonly params: DareParamBlock;
  private readonly weightLanes: Float32Array;
  private readonly tails: Float32Array;
  private readonly acc: Float64Array;

  /**
   * `exports`: the shared build instantiated on `memory`; `area`: this thread's scratch bytes;
   * `staged`: this thread's staged loops, for the calls that cannot run in place.
   */
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly exports: Record<string, KernelFn>,
    private readonly area: number,
    private readonly staged: StagedChunkRunner,
  ) {
    const buffer = memory.buffer;
    this.params = new DareParamBlock(buffer, area);
    this.weightLanes = new Float32Array(buffer, area + WEIGHTS_AT, 4 * INPUT_SLOTS);
    this.tails = new Float32Array(buffer, area + TAILS_AT, 4 * INPUT_SLOTS);
    this.acc = new Float64Array(buffer, area + ACC_AT, ACC_SLOTS);
  }

  private onMemory(arrays: readonly Float32Array[]): boolean {
    return arrays.every((a) => a.buffer === this.memory.buffer && a.byteOffset % 4 === 0);
  }

  /** The last n − q floats (1 to 3) of `from` in tail slot k, padded with +0; its address. */
  private tail(k: number, from: Float32Array, q: number): number {
    this.tails.fill(0, 4 * k, 4 * k + 4);
    this.tails.set(from.subarray(q), 4 * k);
    return this.area + TAILS_AT + 16 * k;
  }

  dareLinearHere(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: readonly StagedDareModel[], s: number, offset: number): void {
    if (params.length === 0 || !this.onMemory([out, base, ...models]) || ![base, ...models].every((x) => disjoint(out, x))) {
      this.staged.dareLinearHere(models, base, out, params, s, offset);
      return;
    }
    const { dare_term_set: set, dare_term_add: add, dare_finish: finish } = this.exports;
    const n = out.length;
    for (let at = 0; at < n; at += IN_PLACE_BLOCK) {
      const len = Math.min(IN_PLACE_BLOCK, n - at);
      const o = out.byteOffset + 4 * at;
      const b = base.byteOffset + 4 * at;
      const first = (offset + at) | 0;
      params.forEach((p, i) => {
        this.params.set(p.weight, p.scale, p.key0, p.key1, p.threshold);
        (i === 0 ? set : add)!(o, len, first, this.params.address, b, models[i]!.byteOffset + 4 * at);
      });
      finish!(o, len, b, o, s);
    }
  }

  weightedSumHere(out: Float32Array, inputs: readonly Float32Array[], weights: readonly number[]): void {
    const count = inputs.length;
    const fused = count >= 2 && count <= INPUT_SLOTS;
    // One fused pass reads every input of a float before writing it; separate passes need out apart from all.
    const safe = fused ? inputs.every((x) => disjoint(out, x) || (x.byteOffset === out.byteOffset && x.length === out.length)) : inputs.every((x) => disjoint(out, x));
    if (count === 0 || !safe || !this.onMemory([out, ...inputs])) {
      this.staged.weightedSumHere(out, inputs, weights);
      return;
    }
    if (!fused) {
      const { scale_set: set, scale_add: add } = this.exports;
      inputs.forEach((x, k) => (k === 0 ? set : add)!(out.byteOffset, out.length, x.byteOffset, weights[k]!));
      return;
    }
    weights.forEach((w, k) => this.weightLanes.fill(w, 4 * k, 4 * k + 4));
    this.exports[`weighted_${count}`]!(out.byteOffset, out.length, this.area + WEIGHTS_AT, ...inputs.map((x) => x.byteOffset));
  }

  /** A sum export fn(acc, n, inputs…) on the multiple-of-4 part in place, then on the padded tail. */
  private sum(fn: KernelFn, inputs: readonly Float32Array[], n: number): void {
    const q = n & ~3;
    if (q > 0) fn(this.area + ACC_AT, q, ...inputs.map((x) => x.byteOffset));
    if (q < n) fn(this.area + ACC_AT, 4, ...inputs.map((x, k) => this.tail(k, x, q)));
  }

  taskVectorStatsHere(models: readonly Float32Array[], base: Float32Array): ArrayLike<number> {
    const count = models.length;
    if (count < 2 || count > STAGED_MAX_MODELS || !this.onMemory([base, ...models])) return this.staged.taskVectorStatsHere(models, base);
    const chains = count + (count * (count - 1)) / 2;
    this.acc.fill(0, 0, SUM_LANES * chains);
    this.sum(this.exports[`stats_${count}`]!, [base, ...models], base.length);
    return laneTotals(this.acc, chains);
  }

  plainStatsHere(x: Float32Array, y: Float32Array): ArrayLike<number> {
    if (!this.onMemory([x, y])) return this.staged.plainStatsHere(x, y);
    this.acc.fill(0, 0, 3 * SUM_LANES);
    this.sum(this.exports.stats_plain!, [x, y], x.length);
    return laneTotals(this.acc, 3);
  }

  kinshipMomentsHere(x: Float32Array, y: Float32Array, reference: Float32Array | null): ArrayLike<number> {
    const arrays = reference ? [reference, x, y] : [x, y];
    if (!this.onMemory(arrays)) return this.staged.kinshipMomentsHere(x, y, reference);
    this.acc.fill(0, 0, 6 * SUM_LANES);
    this.sum(this.exports[reference ? 'kinship' : 'kinship_plain']!, arrays, x.length);
    return laneTotals(this.acc, 6);
  }

  dareNormsHere(models: readonly Float32Array[], base: Float32Array, masks: readonly StagedDareMask[], offset: number, norm: 'l1' | 'l2'): ArrayLike<number> {
    if (models.length > INPUT_SLOTS || !this.onMemory([base, ...models])) return this.staged.dareNormsHere(models, base, masks, offset, norm);
    const fn = this.exports[`dare_norms_${norm}`]!;
    this.acc.fill(0, 0, 2 * SUM_LANES * models.length);
    const n = base.length;
    for (let at = 0; at < n; at += IN_PLACE_BLOCK) {
      const len = Math.min(IN_PLACE_BLOCK, n - at);
      const b = base.subarray(at, at + len);
      models.forEach((m, i) => {
        const { key0, key1, threshold } = masks[i]!;
        this.params.set(0, 0, key0, key1, threshold);
        // A model's two sums: acc at 2·SUM_LANES·i; the counters start at offset + at (the tail's at + q).
        const q = len & ~3;
        const acc = this.area + ACC_AT + 8 * 2 * SUM_LANES * i;
        const first = (offset + at) | 0;
        const x = m.subarray(at, at + len);
        if (q > 0) fn(acc, q, first, this.params.address, b.byteOffset, x.byteOffset);
        if (q < len) fn(acc, 4, (first + q) | 0, this.params.address, this.tail(0, b, q), this.tail(1, x, q));
      });
    }
    // Model i's [before, after] are sums 2i and 2i + 1: the flat order dareNormsHere returns.
    return laneTotals(this.acc, 2 * models.length);
  }
}
