/**
 * DARE linear, SLERP and model stock loops in WebAssembly SIMD (staged-merges.wat.ts) for
 * tensors that live anywhere: each call copies blocks of its inputs into the module's own
 * memory, runs the SIMD loop there and copies the result out. TypedArray.set is a libc
 * memcpy: staging one input costs about one memcpy of it, where a TypeScript element loop
 * streaming a large array runs 4–5× slower (measured in Node 20 on 58.7M floats). Outputs
 * are copied out in 1 MB pieces: copies of 64 KB into a large array ran 3× slower per byte.
 *
 * One instance per thread (the memory is scratch, reused by every call); engines without
 * wasm SIMD get null from stagedMerges(), and the callers keep their TypeScript loops.
 * Bits: every export is the twin of a TypeScript loop (see staged-merges.wat.ts). The sums
 * are per-THREAD_CHUNK partials in four lanes, folded in chunk order (foldChunks), so a
 * call whose arrays all live on a pooled shared memory splits over its threads with the same
 * bits (staged-merges.threaded.ts); the *Here methods are one thread's loops.
 */
import { foldChunks, laneTotals, SUM_LANES } from '../threads/chunked-call';
import { chunkPoolFor } from '../threads/pool-registry';
import { wasmKernelModule } from '../wasm-module';
import { dareLinearCall, dareNormsCall, kinshipCall, plainStatsCall, taskVectorStatsCall, weightedSumCall, type StagedChunkRunner, type StagedDareMask, type StagedDareModel } from './staged-merges.threaded';
import { STAGED_MERGES_WASM_BASE64 } from './staged-merges.wasm.gen';
import { DareParamBlock } from './dare-param-block';
import { DARE_PARAM_BYTES, stagedPairs, STAGED_MAX_MODELS } from './staged-merges.wat';

export { STAGED_MAX_MODELS, stagedPairs };

type KernelFn = (...args: number[]) => number;

/** Floats per staged input block (64 KB: the inputs of one block stay in L2). */
export const STAGED_BLOCK = 16384;
/** Floats per output piece copied out at once (1 MB). */
export const STAGED_OUT_BLOCK = 262144;

const INPUT_SLOTS = STAGED_MAX_MODELS + 1;
const OUT_AT = INPUT_SLOTS * STAGED_BLOCK * 4;
const MASK_AT = OUT_AT + STAGED_OUT_BLOCK * 4;
const PARAMS_AT = MASK_AT + STAGED_BLOCK * 4;
/** weightedSum's weights, each in a 16-byte lane. */
const WEIGHTS_AT = PARAMS_AT + DARE_PARAM_BYTES;
const ACC_AT = WEIGHTS_AT + 16 * INPUT_SLOTS;
/** The sums' lanes: SUM_LANES per sum. */
const ACC_SLOTS = SUM_LANES * (STAGED_MAX_MODELS + (STAGED_MAX_MODELS * (STAGED_MAX_MODELS - 1)) / 2);
const BYTES = ACC_AT + ACC_SLOTS * 8;

export type { StagedDareMask, StagedDareModel };

const kernelModule = wasmKernelModule(STAGED_MERGES_WASM_BASE64);
export const stagedMergesWasmBytes = kernelModule.bytes;

export class StagedMerges implements StagedChunkRunner {
  private readonly exports: Record<string, KernelFn>;
  private readonly slots: Float32Array[];
  private readonly outPiece: Float32Array;
  private readonly maskView: Int32Array;
  private readonly params: DareParamBlock;
  private readonly weightLanes: Float32Array;
  private readonly acc: Float64Array;

  constructor(module: WebAssembly.Module) {
    const memory = new WebAssembly.Memory({ initial: Math.ceil(BYTES / 65536) });
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, KernelFn>;
    const buffer = memory.buffer;
    this.slots = Array.from({ length: INPUT_SLOTS }, (_, k) => new Float32Array(buffer, k * STAGED_BLOCK * 4, STAGED_BLOCK));
    this.outPiece = new Float32Array(buffer, OUT_AT, STAGED_OUT_BLOCK);
    this.maskView = new Int32Array(buffer, MASK_AT, STAGED_BLOCK);
    this.params = new DareParamBlock(buffer, PARAMS_AT);
    this.weightLanes = new Float32Array(buffer, WEIGHTS_AT, 4 * INPUT_SLOTS);
    this.acc = new Float64Array(buffer, ACC_AT, ACC_SLOTS);
  }

  private stage(slot: number, from: Float32Array, at: number, len: number): number {
    this.slots[slot]!.set(from.subarray(at, at + len));
    return slot * STAGED_BLOCK * 4;
  }

  /** stage, then +0 up to a multiple of 4 floats: the lane sums take whole groups of four (the padding adds nothing). */
  private stagePadded(slot: number, from: Float32Array, at: number, len: number): number {
    const address = this.stage(slot, from, at, len);
    this.slots[slot]!.fill(0, len, quad(len));
    return address;
  }

  /**
   * Writes out[j] for all j, piece by piece: block(outByte, at, len) fills out-piece bytes
   * from outByte with elements [at, at + len). Every input element is staged before the
   * piece holding it is copied out, so out may be one of the inputs exactly.
   */
  private pieces(out: Float32Array, block: (outByte: number, at: number, len: number) => void): void {
    const n = out.length;
    for (let piece = 0; piece < n; piece += STAGED_OUT_BLOCK) {
      const pieceLen = Math.min(STAGED_OUT_BLOCK, n - piece);
      for (let inner = 0; inner < pieceLen; inner += STAGED_BLOCK) block(OUT_AT + 4 * inner, piece + inner, Math.min(STAGED_BLOCK, pieceLen - inner));
      out.set(pieceLen === STAGED_OUT_BLOCK ? this.outPiece : this.outPiece.subarray(0, pieceLen), piece);
    }
  }

  /** dare.cpu.ts's consensus 'none' (any model count): out = base + s·Σ_i w_i·((x_i − base)·scale_i)·keep_i. */
  dareLinear(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: readonly StagedDareModel[], s: number, offset: number): void {
    const pool = chunkPoolFor([out, base, ...models], out.length);
    const call = pool && dareLinearCall(models, base, out, params, s, offset);
    if (call) pool.run(call);
    else this.dareLinearHere(models, base, out, params, s, offset);
  }

  dareLinearHere(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: readonly StagedDareModel[], s: number, offset: number): void {
    const { dare_term_set: set, dare_term_add: add, dare_finish: finish } = this.exports;
    this.pieces(out, (outByte, at, len) => {
      const b = this.stage(0, base, at, len);
      const first = (offset + at) | 0;
      params.forEach((p, i) => {
        this.params.set(p.weight, p.scale, p.key0, p.key1, p.threshold);
        (i === 0 ? set : add)!(outByte, len, first, this.params.address, b, this.stage(1, models[i]!, at, len));
      });
      finish!(outByte, len, b, outByte, s);
    });
  }

  /** The keep masks (−1 keep, 0 drop) of counters first … first + len − 1 (len ≤ STAGED_BLOCK); valid until the next call. */
  dareMask(len: number, first: number, key0: number, key1: number, threshold: number): Int32Array {
    this.params.set(0, 0, key0, key1, threshold);
    this.exports.dare_mask!(MASK_AT, len, first | 0, this.params.address);
    return this.maskView;
  }

  /**
   * dare.cpu.ts's norm sums for the 'l1' / 'l2' rescale, per model: [Σ|τ_i|, Σ|τ̃_i|] (l2: Σ of
   * squares), τ_i = x_i − base, τ̃_i its masked copy, f64 sums folded by chunk.
   */
  dareNorms(models: readonly Float32Array[], base: Float32Array, masks: readonly StagedDareMask[], offset: number, norm: 'l1' | 'l2'): [number, number][] {
    const n = base.length;
    const pool = chunkPoolFor([base, ...models], n);
    const call = pool && dareNormsCall(models, base, masks, offset, norm);
    const flat = call
      ? pool.reduce(call, 2 * models.length)
      : foldChunks(n, 2 * models.length, (start, len) => this.dareNormsHere(models.map((m) => m.subarray(start, start + len)), base.subarray(start, start + len), masks, offset + start, norm));
    return models.map((_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
  }

  /**
   * dareNorms' sums of one chunk (lanes from 0), flat ([before, after] per model). Base blocks
   * are staged once for all models; each model's lanes go through acc between blocks.
   */
  dareNormsHere(models: readonly Float32Array[], base: Float32Array, masks: readonly StagedDareMask[], offset: number, norm: 'l1' | 'l2'): number[] {
    const fn = this.exports[`dare_norms_${norm}`]!;
    const lanes = models.map(() => new Float64Array(2 * SUM_LANES));
    const n = base.length;
    for (let at = 0; at < n; at += STAGED_BLOCK) {
      const len = Math.min(STAGED_BLOCK, n - at);
      const b = this.stagePadded(0, base, at, len);
      const first = (offset + at) | 0;
      models.forEach((m, i) => {
        const { key0, key1, threshold } = masks[i]!;
        this.params.set(0, 0, key0, key1, threshold);
        this.acc.set(lanes[i]!);
        fn(ACC_AT, quad(len), first, this.params.address, b, this.stagePadded(1, m, at, len));
        lanes[i]!.set(this.acc.subarray(0, 2 * SUM_LANES));
      });
    }
    return lanes.flatMap((l) => laneTotals(l, 2));
  }

  /** dot-norms.cpu.ts of every pair of task vectors x_i − base: [‖τ_0‖², …, then τ_i·τ_j in stagedPairs order], f64 sums folded by chunk; 2 to STAGED_MAX_MODELS models. */
  taskVectorStats(models: readonly Float32Array[], base: Float32Array): number[] {
    const n = base.length;
    const chains = models.length + (models.length * (models.length - 1)) / 2;
    const pool = chunkPoolFor([base, ...models], n);
    const call = pool && taskVectorStatsCall(models, base);
    if (call) return pool.reduce(call, chains);
    return foldChunks(n, chains, (start, len) => this.taskVectorStatsHere(models.map((m) => m.subarray(start, start + len)), base.subarray(start, start + len)));
  }

  /** taskVectorStats' sums of one chunk (lanes from 0). */
  taskVectorStatsHere(models: readonly Float32Array[], base: Float32Array): number[] {
    const count = models.length;
    const chains = count + (count * (count - 1)) / 2;
    this.acc.fill(0, 0, SUM_LANES * chains);
    const fn = this.exports[`stats_${count}`]!;
    const xs = new Array<number>(count);
    const n = base.length;
    for (let at = 0; at < n; at += STAGED_BLOCK) {
      const len = Math.min(STAGED_BLOCK, n - at);
      const b = this.stagePadded(0, base, at, len);
      for (let i = 0; i < count; i++) xs[i] = this.stagePadded(i + 1, models[i]!, at, len);
      fn(ACC_AT, quad(len), b, ...xs);
    }
    return laneTotals(this.acc, chains);
  }

  /** dot-norms.cpu.ts without a base: [‖x‖², ‖y‖², x·y], f64 sums folded by chunk. */
  plainStats(x: Float32Array, y: Float32Array): [number, number, number] {
    const pool = chunkPoolFor([x, y], x.length);
    const call = pool && plainStatsCall(x, y);
    const [xx, yy, xy] = call ? pool.reduce(call, 3) : foldChunks(x.length, 3, (start, len) => this.plainStatsHere(x.subarray(start, start + len), y.subarray(start, start + len)));
    return [xx!, yy!, xy!];
  }

  /** plainStats' sums of one chunk (lanes from 0). */
  plainStatsHere(x: Float32Array, y: Float32Array): [number, number, number] {
    this.acc.fill(0, 0, 3 * SUM_LANES);
    const n = x.length;
    for (let at = 0; at < n; at += STAGED_BLOCK) {
      const len = Math.min(STAGED_BLOCK, n - at);
      this.exports.stats_plain!(ACC_AT, quad(len), this.stagePadded(0, x, at, len), this.stagePadded(1, y, at, len));
    }
    const [xx, yy, xy] = laneTotals(this.acc, 3);
    return [xx!, yy!, xy!];
  }

  /** kinship.cpu.ts's moments [Σa, Σb, Σab, Σa², Σb², Σ(x − y)²], a = x − c, b = y − c (c = 0 without a reference), f64 sums folded by chunk. */
  kinshipMoments(x: Float32Array, y: Float32Array, reference: Float32Array | null): number[] {
    const arrays = reference ? [x, y, reference] : [x, y];
    const pool = chunkPoolFor(arrays, x.length);
    const call = pool && kinshipCall(x, y, reference);
    if (call) return pool.reduce(call, 6);
    return foldChunks(x.length, 6, (start, len) => this.kinshipMomentsHere(x.subarray(start, start + len), y.subarray(start, start + len), reference && reference.subarray(start, start + len)));
  }

  /** kinshipMoments' sums of one chunk (lanes from 0). */
  kinshipMomentsHere(x: Float32Array, y: Float32Array, reference: Float32Array | null): number[] {
    this.acc.fill(0, 0, 6 * SUM_LANES);
    const fn = this.exports[reference ? 'kinship' : 'kinship_plain']!;
    const n = x.length;
    for (let at = 0; at < n; at += STAGED_BLOCK) {
      const len = Math.min(STAGED_BLOCK, n - at);
      const xy = [this.stagePadded(0, x, at, len), this.stagePadded(1, y, at, len)];
      if (reference) fn(ACC_AT, quad(len), this.stagePadded(2, reference, at, len), ...xy);
      else fn(ACC_AT, quad(len), ...xy);
    }
    return laneTotals(this.acc, 6);
  }

  /** scale-add.cpu.ts's passes fused: out = w_0·x_0, then out = out + w_k·x_k for k = 1, 2, … (f32 weights). */
  weightedSum(out: Float32Array, inputs: readonly Float32Array[], weights: readonly number[]): void {
    const pool = chunkPoolFor([out, ...inputs], out.length);
    const call = pool && weightedSumCall(out, inputs, weights);
    if (call) pool.run(call);
    else this.weightedSumHere(out, inputs, weights);
  }

  weightedSumHere(out: Float32Array, inputs: readonly Float32Array[], weights: readonly number[]): void {
    const count = inputs.length;
    if (count < 2 || count > INPUT_SLOTS) {
      // One pass per input over the output piece: the same bits, any count.
      const { scale_set: set, scale_add: add } = this.exports;
      this.pieces(out, (outByte, at, len) => inputs.forEach((x, k) => (k === 0 ? set : add)!(outByte, len, this.stage(k % 2, x, at, len), weights[k]!)));
      return;
    }
    weights.forEach((w, k) => this.weightLanes.fill(w, 4 * k, 4 * k + 4));
    const fn = this.exports[`weighted_${count}`]!;
    const xs = new Array<number>(count);
    this.pieces(out, (outByte, at, len) => {
      for (let k = 0; k < count; k++) xs[k] = this.stage(k, inputs[k]!, at, len);
      fn(outByte, len, WEIGHTS_AT, ...xs);
    });
  }
}

/** n rounded up to a multiple of 4 (the lane sums' groups). */
function quad(n: number): number {
  return (n + 3) & ~3;
}

/** Below this many floats the staging's fixed cost (a few calls and copies) outweighs the gain of a pass that is not hash-bound. */
export const STAGED_MIN_FLOATS = 4096;

let instance: StagedMerges | null | undefined;

/** The kernels of this thread for a pass over n floats, or null where wasm SIMD is unavailable or n is below minFloats. */
export function stagedMerges(n = Infinity, minFloats = STAGED_MIN_FLOATS): StagedMerges | null {
  if (n < minFloats) return null;
  if (instance === undefined) {
    const module = kernelModule.sync();
    instance = module ? new StagedMerges(module) : null;
  }
  return instance;
}
