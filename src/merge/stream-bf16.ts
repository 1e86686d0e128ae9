/**
 * The streamed merge's bfloat16 fast path: linear and task arithmetic from stored bfloat16
 * bytes to bfloat16 bytes in one WebAssembly SIMD pass (stream-bf16.wat.ts), instead of
 * decoding every input to float32, merging with the TypeScript kernel and rounding back. One
 * WebAssembly.Memory, sized once for the largest step, holds two sets of input regions (the
 * step merged and the step read ahead, read straight into them), a scratch set for inputs
 * that come from elsewhere (copied in) and the output. The bytes are the TypeScript route's: the same f32 arithmetic
 * in the same order, the weights and scale derived as the twins derive them
 * (linear-plan.ts), and a call whose output holds a NaN is
 * answered null so the caller takes the TypeScript route. Engines without wasm SIMD get no kernel.
 */
import { encodeBFloat16 } from '../formats/safetensors-float';
import type { MergeParams } from '../protocol/settings';
import { linearMergePlan } from './linear-plan';
import { wasmKernelModule } from '../kernels/wasm-module';
import type { MergeMethodDef } from './method';
import { STREAM_BF16_WASM_BASE64 } from './stream-bf16.wasm.gen';
import { BF16_STREAM_MAX_MODELS } from './stream-bf16.wat';

export { BF16_STREAM_MAX_MODELS };

type KernelFn = (...args: number[]) => number;

const kernelModule = wasmKernelModule(STREAM_BF16_WASM_BASE64);
export const streamBf16WasmModule = kernelModule.sync;

const PAGE = 65536;
/** Each region starts on a 16-byte boundary (whole vectors). */
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** The f32 constants of one tensor's merge: each model's weight and the scale. */
export interface Bf16MergeScalars {
  w32: Float32Array;
  s: number;
}

/**
 * The scalars of a linear or task-arithmetic merge of this tensor, as the twins derive them from
 * the merge's params (before the per-tensor rules) at file-order depth; null for other methods,
 * for model counts the kernel does not take, or task arithmetic without a base.
 */
export function bf16MergeScalars(method: MergeMethodDef, params: MergeParams, name: string, depth: number, modelCount: number, hasBase: boolean): Bf16MergeScalars | null {
  if (modelCount < 1 || modelCount > BF16_STREAM_MAX_MODELS) return null;
  if (method.id !== 'linear' && method.id !== 'task_arithmetic') return null;
  if (method.id === 'linear' && hasBase) return null;
  const slot = { name, dims: [1], size: 1, offset: 0, depth, layer: '' };
  const plan = linearMergePlan({ ...params, method: method.id }, { slots: [slot], totalSize: 1 }, modelCount, hasBase);
  return plan ? { w32: plan.weights[0]!, s: plan.scales[0]! } : null;
}

/** The kernels over one memory; one merge at a time. */
export class Bf16StreamKernel {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly exports: Record<string, KernelFn>;
  /** Inputs per set and bytes per region, as prepared. */
  private inputs = 0;
  private stride = 0;

  private constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as Record<string, KernelFn>;
  }

  /** The kernels, or null where wasm SIMD is unavailable. */
  static create(): Bf16StreamKernel | null {
    const module = streamBf16WasmModule();
    return module ? new Bf16StreamKernel(module) : null;
  }

  /**
   * Room for merges of up to `inputs` inputs of up to `bytes` each. Growing the memory detaches
   * every view of it, so this comes before any region is handed out, and is not needed after.
   */
  prepare(inputs: number, bytes: number): void {
    if (inputs <= this.inputs && bytes <= this.stride) return;
    this.inputs = Math.max(inputs, this.inputs);
    this.stride = Math.max(align16(bytes), this.stride);
    // The output, then sets 0 and 1 (read into) and 2 (scratch).
    const pages = Math.ceil((this.stride * (1 + 3 * this.inputs)) / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.memory.grow(pages);
  }

  /** Input k's region of set 0 or 1 (2 is the scratch set), `bytes` long: read a step's inputs here and merge them in place. */
  region(set: 0 | 1 | 2, k: number, bytes: number): Uint8Array {
    if (k >= this.inputs || bytes > this.stride) throw new Error(`stream-bf16.ts: region ${k} of ${bytes} bytes; prepared for ${this.inputs} of ${this.stride}.`);
    return new Uint8Array(this.memory.buffer, this.stride * (1 + set * this.inputs + k), bytes);
  }

  /**
   * The bfloat16 bytes of the merge of `models` (and `base`, for task arithmetic), each the same
   * number of stored bfloat16 bytes, in place where they are regions of this memory; null when
   * some output is NaN (take the TypeScript route). The result is a fresh array, or with `view`
   * the output region itself, valid until the next merge.
   */
  merge(models: readonly Uint8Array[], base: Uint8Array | null, scalars: Bf16MergeScalars, view = false): Uint8Array | null {
    const count = models.length;
    if (count < 1 || count > BF16_STREAM_MAX_MODELS || scalars.w32.length !== count) throw new Error(`stream-bf16.ts: ${count} models with ${scalars.w32.length} weights; the kernel takes 1 to ${BF16_STREAM_MAX_MODELS}.`);
    const bytes = models[0]!.byteLength;
    const inputs = base ? [base, ...models] : [...models];
    if (bytes % 2 !== 0 || inputs.some((m) => m.byteLength !== bytes)) throw new Error('stream-bf16.ts: the inputs are not bfloat16 arrays of one length.');
    this.prepare(inputs.length, bytes);
    const addresses = inputs.map((m, k) => {
      if (m.buffer === this.memory.buffer) return m.byteOffset;
      const scratch = this.region(2, k, bytes);
      scratch.set(m);
      return scratch.byteOffset;
    });
    const fn = this.exports[`${base ? 'task_arithmetic' : 'linear'}_bf16_${count}`]!;
    const nan = fn(0, bytes / 2, scalars.s, ...addresses, ...Array.from(scalars.w32));
    if (nan) return null;
    const out = new Uint8Array(this.memory.buffer, 0, bytes);
    return view ? out : out.slice();
  }
}

/** Elements per piece the codec converts at once (its memory: the bfloat16 piece, then the float32 piece). */
export const CODEC_PIECE = 262144;
const CODEC_F32_AT = CODEC_PIECE * 2;

/**
 * bfloat16 to float32 and back for the merges that run on float32 (every method but the fast
 * path's), in WebAssembly SIMD, piece by piece through a small memory of its own: a copy in, the
 * conversion and a copy out cost about a sixth of the TypeScript loops' time on large tensors,
 * and the caller's arrays can be reused. The values are safetensors-float.ts's: decoding is a
 * shift; a piece holding a NaN is encoded by encodeBFloat16 itself (it quiets NaNs).
 */
export class Bf16Codec {
  private readonly memory = new WebAssembly.Memory({ initial: Math.ceil((CODEC_PIECE * 6) / PAGE) });
  private readonly exports: Record<string, KernelFn>;
  private readonly raw: Uint8Array;
  private readonly f32: Float32Array;

  private constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as Record<string, KernelFn>;
    this.raw = new Uint8Array(this.memory.buffer, 0, CODEC_PIECE * 2);
    this.f32 = new Float32Array(this.memory.buffer, CODEC_F32_AT, CODEC_PIECE);
  }

  /** The codec, or null where wasm SIMD is unavailable. */
  static create(): Bf16Codec | null {
    const module = streamBf16WasmModule();
    return module ? new Bf16Codec(module) : null;
  }

  /** The float32 values of stored bfloat16 bytes, into `out` (exactly half as many elements as bytes). */
  decodeInto(bytes: Uint8Array, out: Float32Array): Float32Array {
    const n = bytes.byteLength / 2;
    if (!Number.isInteger(n) || out.length !== n) throw new Error(`stream-bf16.ts: ${bytes.byteLength} bfloat16 bytes into ${out.length} floats.`);
    for (let at = 0; at < n; at += CODEC_PIECE) {
      const len = Math.min(CODEC_PIECE, n - at);
      this.raw.set(bytes.subarray(at * 2, (at + len) * 2));
      this.exports.decode_bf16!(CODEC_F32_AT, len, 0);
      out.set(len === CODEC_PIECE ? this.f32 : this.f32.subarray(0, len), at);
    }
    return out;
  }

  /** The bfloat16 bytes of `values`, into `into` when given (twice as many bytes as values), else a fresh array. */
  encode(values: Float32Array, into?: Uint8Array): Uint8Array {
    const n = values.length;
    const out = into ?? new Uint8Array(n * 2);
    if (out.byteLength !== n * 2) throw new Error(`stream-bf16.ts: ${n} floats into ${out.byteLength} bfloat16 bytes.`);
    for (let at = 0; at < n; at += CODEC_PIECE) {
      const len = Math.min(CODEC_PIECE, n - at);
      const piece = values.subarray(at, at + len);
      this.f32.set(piece);
      if (this.exports.encode_bf16!(0, len, CODEC_F32_AT)) {
        const bits = encodeBFloat16(piece);
        out.set(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), at * 2);
      } else out.set(len === CODEC_PIECE ? this.raw : this.raw.subarray(0, len * 2), at * 2);
    }
    return out;
  }
}
