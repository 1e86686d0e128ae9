/**
 * The WebAssembly SIMD DE step (de-step.wat.ts, assembled into de-step.wasm.gen.ts): same
 * contract and same bits as deTrialCpu, for vectors that live in one WebAssembly.Memory
 * (the CPU population's), so it runs in place with no copy in or out.
 *
 * The module is 1–2 KB, so it compiles synchronously (allowed in Node and in workers, and
 * under the 4 KB main-thread limit of browsers); compileDeStepWasm() is the async form.
 * Engines without wasm SIMD get null and the caller keeps the TypeScript twin.
 *
 * Work is cut into chunks of 2^20 floats: the counter base advances per chunk, the result
 * is the same, and without --liftoff-only V8 tiers a hot kernel up between calls.
 */
import { KernelParamsError } from '../errors';
import { probabilityThreshold, rngKey, RNG_UNIT_BITS } from '../rng/rng.cpu';
import { validateDeStep, type DeStepParams, type DeVectors } from './de-step.cpu';
import { wasmKernelModule } from '../wasm-module';
import { runChunks, type ChunkedCall, type KernelFn } from '../threads/chunked-call';
import type { KernelThreads } from '../threads/kernel-threads';
import { kernelModuleFor } from '../threads/threaded-kernels';
import { DE_STEP_WASM_BASE64 } from './de-step.wasm.gen';

// trial(t, b, p, m, o, n, f, threshold, k0, k1, g0) and mutant(b, p, m, o, n, f).
interface DeStepExports {
  trial: KernelFn;
  mutant: KernelFn;
}

const CHUNK = 1 << 20;

const kernelModule = wasmKernelModule(DE_STEP_WASM_BASE64);

export const deStepWasmBytes = kernelModule.bytes;
/** The compiled module, or null where this engine lacks WebAssembly or its SIMD. */
export const deStepWasmModule = kernelModule.sync;
/** Async compile, for a page's main thread. */
export const compileDeStepWasm = kernelModule.compile;

/** The DE step bound to one memory. */
export class DeStepWasm {
  private readonly kernel: DeStepExports;

  private constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    private readonly threads: KernelThreads | null,
  ) {
    this.kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DeStepExports;
  }

  /**
   * The kernel on `memory`, or null where wasm SIMD is unavailable. With `threads` (a pool on
   * the same shared memory) long vectors are split over them, with the same bits.
   */
  static create(memory: WebAssembly.Memory, threads: KernelThreads | null = null): DeStepWasm | null {
    const module = kernelModuleFor(memory, 'de-step', kernelModule);
    return module ? new DeStepWasm(memory, module, threads?.memory === memory ? threads : null) : null;
  }

  /** Threads a call over n floats runs on. */
  threadsFor(n: number): number {
    return this.threads?.takes(n) ? this.threads.threads : 1;
  }

  private run(call: ChunkedCall, fn: KernelFn): void {
    if (this.threads?.takes(call.n)) this.threads.run(call);
    else runChunks(fn, call, CHUNK);
  }

  /** Whether a vector is a view on this memory (the kernel can take it). */
  holds(view: Float32Array): boolean {
    return view.buffer === this.memory.buffer;
  }

  /** deTrialCpu on vectors in this memory: out ← crossover(target, base + F·(plus − minus)). */
  trial(vectors: DeVectors, out: Float32Array, params: DeStepParams): void {
    const { target, base, plus, minus } = vectors;
    const n = out.length;
    const inputs = [target, base, plus, minus];
    if (inputs.some((v) => v.length !== n)) {
      throw new KernelParamsError(
        `de-step.wasm.ts: lengths differ (target ${target.length}, base ${base.length}, plus ${plus.length}, minus ${minus.length}, out ${n})`,
      );
    }
    if (!this.holds(out) || !inputs.every((v) => this.holds(v))) {
      throw new KernelParamsError('de-step.wasm.ts: every vector must be a view on the kernel\'s WebAssembly.Memory');
    }
    // out may be an input exactly, or apart from it; a partial overlap would read written lanes.
    for (const v of inputs) {
      const apart = v.byteOffset + 4 * n <= out.byteOffset || out.byteOffset + 4 * n <= v.byteOffset;
      if (n > 0 && v.byteOffset !== out.byteOffset && !apart) {
        throw new KernelParamsError('de-step.wasm.ts: out overlaps an input without being it');
      }
    }
    validateDeStep(n, params);
    const f = Math.fround(params.f);
    const threshold = probabilityThreshold(params.cr);
    const offset = params.offset;
    const local = params.jRand < 0 ? -1 : params.jRand - offset;
    const hasJRand = local >= 0 && local < n;
    // As in deTrialCpu: saved first, since out may alias an input.
    const mutantJ = hasJRand ? base[local]! + Math.fround(f * Math.fround(plus[local]! - minus[local]!)) : 0;
    const [t, b, p, m, o] = [target.byteOffset, base.byteOffset, plus.byteOffset, minus.byteOffset, out.byteOffset];
    if (threshold === 0) {
      if (t !== o) out.set(target);
    } else if (threshold >= 1 << RNG_UNIT_BITS) {
      this.run({ fn: 'de-step.mutant', args: [b, p, m, o, n, f], pointers: [0, 1, 2, 3], lengthArg: 4, n }, this.kernel.mutant);
    } else {
      const [k0, k1] = rngKey(params.seed, params.stream);
      this.run({ fn: 'de-step.trial', args: [t, b, p, m, o, n, f, threshold, k0, k1, offset], pointers: [0, 1, 2, 3, 4], lengthArg: 5, counterArg: 10, n }, this.kernel.trial);
    }
    if (hasJRand) out[local] = mutantJ;
  }
}
