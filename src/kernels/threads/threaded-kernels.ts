/**
 * The kernels that run split over threads, assembled a second time to import a shared memory
 * (a module's memory import must match the memory's sharedness; tools/build-wasm.mjs): the DE
 * step, the linear merges and the staged merges' loops. Each thread instantiates them on the
 * one shared memory; a call names its kernel as `module.export`. Beside them, the staged
 * merges' chunk kernels (`staged.*`): in place on the shared memory where the thread has an
 * area of its scratch (staged-merges.in-place.ts), else through the thread's own staged
 * kernels, which copy each block (the same bits either way); and the fast TIES' speculative
 * merge pass (`ties.*`, ties-fast.threaded.ts), each thread through its own TIES kernel.
 */
import { DE_STEP_SHARED_WASM_BASE64 } from '../de-step/de-step.shared.wasm.gen';
import { LINEAR_COMBINE_SHARED_WASM_BASE64 } from '../linear-combine/linear-combine.shared.wasm.gen';
import { StagedMergesInPlace } from '../staged-merges/staged-merges.in-place';
import { STAGED_MERGES_SHARED_WASM_BASE64 } from '../staged-merges/staged-merges.shared.wasm.gen';
import { stagedMerges } from '../staged-merges/staged-merges.wasm';
import { stagedChunkKernels } from '../staged-merges/staged-merges.threaded';
import { tiesChunkKernels } from '../ties-fast/ties-fast.threaded';
import { tiesFastWasm } from '../ties-fast/ties-fast.wasm';
import { wasmKernelModule, type WasmKernelModule } from '../wasm-module';
import type { KernelFn } from './chunked-call';

export const SHARED_KERNEL_MODULES = {
  'de-step': wasmKernelModule(DE_STEP_SHARED_WASM_BASE64),
  'linear-combine': wasmKernelModule(LINEAR_COMBINE_SHARED_WASM_BASE64),
  'staged-merges': wasmKernelModule(STAGED_MERGES_SHARED_WASM_BASE64),
} as const satisfies Record<string, WasmKernelModule>;

export type SharedKernelName = keyof typeof SHARED_KERNEL_MODULES;

/** Whether a memory is shared (its kernels are then the shared-memory builds). */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/** The module for `memory`: the shared build on a shared memory, else `plain`. */
export function kernelModuleFor(memory: WebAssembly.Memory, name: SharedKernelName, plain: WasmKernelModule): WebAssembly.Module | null {
  return (isSharedMemory(memory) ? SHARED_KERNEL_MODULES[name] : plain).sync();
}

/**
 * Every threaded kernel instantiated on `memory`, by `module.export`; null where one cannot
 * compile. Reductions write their chunks' partial sums to `partials` (the pool's). `area`: this
 * thread's bytes of the memory's scratch (IN_PLACE_AREA_BYTES), or null for none. `side`: the
 * pool's side area (a view that follows its growth), where TIES' chunks leave their records.
 */
export function threadedKernelTable(memory: WebAssembly.Memory, partials: Float64Array, area: number | null = null, side: Int32Array = new Int32Array(0)): Map<string, KernelFn> | null {
  const table = new Map<string, KernelFn>();
  let staged: Record<string, (...args: number[]) => number> | null = null;
  for (const [name, handle] of Object.entries(SHARED_KERNEL_MODULES)) {
    const module = handle.sync();
    if (!module) return null;
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    if (name === 'staged-merges') staged = exports as unknown as typeof staged;
    else for (const [key, value] of Object.entries(exports)) if (typeof value === 'function') table.set(`${name}.${key}`, value as KernelFn);
  }
  const copying = stagedMerges();
  const runner = copying && staged && area !== null ? new StagedMergesInPlace(memory, staged, area, copying) : copying;
  for (const [name, fn] of stagedChunkKernels(memory, partials, runner)) table.set(name, fn);
  for (const [name, fn] of tiesChunkKernels(memory, side, tiesFastWasm())) table.set(name, fn);
  return table;
}
