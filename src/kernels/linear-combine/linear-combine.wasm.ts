/**
 * The WebAssembly SIMD linear merges (linear-combine.wat.ts, assembled into
 * linear-combine.wasm.gen.ts): linearMerge's and taskArithmeticMerge's bits for tensors that
 * live in one WebAssembly.Memory (the CPU population's), run in place, each input read once.
 * Weights and the scale are the f32 values the twins derive (task-vector/params.ts); the
 * caller passes them already rounded. Engines without wasm SIMD get null and keep the twins.
 *
 * The module is about 5 KB: compiled synchronously, which Node and workers allow (the engine
 * runs in a worker; a page's main thread would need the async form, compileLinearCombineWasm).
 * Work is cut into chunks of 2^20 floats, as the DE step's.
 */
import { KernelParamsError } from '../errors';
import { wasmKernelModule } from '../wasm-module';
import { runChunks, type ChunkedCall, type KernelFn } from '../threads/chunked-call';
import type { KernelThreads } from '../threads/kernel-threads';
import { kernelModuleFor } from '../threads/threaded-kernels';
import { LINEAR_COMBINE_WASM_BASE64 } from './linear-combine.wasm.gen';
import { LINEAR_WASM_MAX_MODELS } from './linear-combine.wat';

export { LINEAR_WASM_MAX_MODELS };

const CHUNK = 1 << 20;

const kernelModule = wasmKernelModule(LINEAR_COMBINE_WASM_BASE64);

export const linearCombineWasmBytes = kernelModule.bytes;
/** The compiled module, or null where this engine lacks WebAssembly or its SIMD. */
export const linearCombineWasmModule = kernelModule.sync;
/** Async compile, for a page's main thread. */
export const compileLinearCombineWasm = kernelModule.compile;

/** The linear merges bound to one memory. */
export class LinearCombineWasm {
  private readonly exports: Record<string, KernelFn>;

  private constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    private readonly threads: KernelThreads | null,
  ) {
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, KernelFn>;
  }

  /**
   * The kernels on `memory`, or null where wasm SIMD is unavailable. With `threads` (a pool on
   * the same shared memory) long tensors are split over them, with the same bits.
   */
  static create(memory: WebAssembly.Memory, threads: KernelThreads | null = null): LinearCombineWasm | null {
    const module = kernelModuleFor(memory, 'linear-combine', kernelModule);
    return module ? new LinearCombineWasm(memory, module, threads?.memory === memory ? threads : null) : null;
  }

  private run(name: string, call: Omit<ChunkedCall, 'fn'>): void {
    if (this.threads?.takes(call.n)) this.threads.run({ fn: `linear-combine.${name}`, ...call });
    else runChunks(this.exports[name]!, { fn: name, ...call }, CHUNK);
  }

  /** Whether every vector is a view on this memory (the kernels can take them). */
  holds(...views: readonly Float32Array[]): boolean {
    return views.every((v) => v.buffer === this.memory.buffer);
  }

  /** Whether a merge of `count` models runs here (else the TypeScript twin). */
  takes(count: number): boolean {
    return count >= 1 && count <= LINEAR_WASM_MAX_MODELS;
  }

  private check(out: Float32Array, inputs: readonly Float32Array[], where: string): void {
    const n = out.length;
    inputs.forEach((v, i) => {
      if (v.length !== n) throw new KernelParamsError(`linear-combine.wasm.ts (${where}): input ${i} has ${v.length} floats, out has ${n}`);
    });
    if (!this.holds(out, ...inputs)) throw new KernelParamsError(`linear-combine.wasm.ts (${where}): every vector must be a view on the kernel's WebAssembly.Memory`);
    // out may be an input exactly, or apart from it; a partial overlap would read written lanes.
    for (const v of inputs) {
      const apart = v.byteOffset + 4 * n <= out.byteOffset || out.byteOffset + 4 * n <= v.byteOffset;
      if (n > 0 && v.byteOffset !== out.byteOffset && !apart) throw new KernelParamsError(`linear-combine.wasm.ts (${where}): out overlaps an input without being it`);
    }
  }

  /** linearMerge's bits: out = s·Σ w_i x_i (w32 and s already f32). */
  linear(out: Float32Array, models: readonly Float32Array[], w32: Float32Array, s: number): void {
    this.merge(out, models, null, w32, s);
  }

  /** taskArithmeticMerge's bits: out = base + s·Σ w_i (x_i − base) (w32 and s already f32). */
  taskArithmetic(out: Float32Array, models: readonly Float32Array[], base: Float32Array, w32: Float32Array, s: number): void {
    this.merge(out, models, base, w32, s);
  }

  private merge(out: Float32Array, models: readonly Float32Array[], base: Float32Array | null, w32: Float32Array, s: number): void {
    const where = base ? 'task arithmetic' : 'linear';
    const count = models.length;
    if (!this.takes(count)) throw new KernelParamsError(`linear-combine.wasm.ts (${where}): ${count} models; the kernel takes 1 to ${LINEAR_WASM_MAX_MODELS}`);
    if (w32.length !== count) throw new KernelParamsError(`linear-combine.wasm.ts (${where}): ${w32.length} weights for ${count} models`);
    this.check(out, base ? [...models, base] : models, where);
    const name = `${base ? 'task_arithmetic' : 'linear'}_${count}`;
    const weights = Array.from(w32);
    const n = out.length;
    const xs = models.map((m) => m.byteOffset);
    // (out, n, s, [base,] x_1..x_count, w_1..w_count): out, the base and the models are addresses.
    const args = [out.byteOffset, n, s, ...(base ? [base.byteOffset] : []), ...xs, ...weights];
    const firstModel = base ? 4 : 3;
    const pointers = [0, ...(base ? [3] : []), ...xs.map((_, i) => firstModel + i)];
    this.run(name, { args, pointers, lengthArg: 1, n });
  }

  /** out = m + k·(c − x), in f32 as population/incremental-merge.ts writes it (k already f32). */
  update(out: Float32Array, m: Float32Array, c: Float32Array, x: Float32Array, k: number): void {
    this.check(out, [m, c, x], 'update');
    const n = out.length;
    this.run('update', { args: [out.byteOffset, n, k, m.byteOffset, c.byteOffset, x.byteOffset], pointers: [0, 3, 4, 5], lengthArg: 1, n });
  }
}
