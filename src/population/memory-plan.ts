/**
 * Will the loaded checkpoints fit? Said before a run starts, with numbers: the WASM build
 * of onnxruntime has a 32-bit heap (4 GiB at most) that must hold the graph and the
 * weights fed to it; on WebGPU each individual's flat vector is one storage buffer, which
 * the device caps (maxStorageBufferBindingSize); and the worker holds every checkpoint's
 * bytes plus the population. Pure module: sizes in, sentences out.
 */
import { type MemoryPlan } from '../protocol/project';

/**
 * Bytes a run holds for the evolved parameters (f32): every individual, the candidate and
 * the merged set, and the base or, without one, the kinship reference (the checkpoints'
 * mean): N + 3 copies (one more, the population's merge, for incremental linear merges with
 * N ≥ 4: incremental-merge.ts). The graph itself adds about one checkpoint inside onnxruntime-web.
 */
export function populationBytes(parameters: number, models: number): number {
  return 4 * parameters * (models + 3);
}

/** wasm32: onnxruntime-web's heap cannot grow past 4 GiB. */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;

export interface MemoryLimits {
  path: 'webgpu' | 'wasm';
  /** The device's largest storage binding, on the WebGPU path. */
  maxStorageBufferBindingSize: number | null;
  maxBufferSize: number | null;
}

export interface MemoryPlanInput {
  /** Evolved parameters (float32 each). */
  parameters: number;
  /** Members of the population. */
  models: number;
  /** The largest checkpoint's graph in bytes (what one ORT session loads). */
  graphBytes: number;
  /** All loaded checkpoints' bytes, held by the engine. */
  loadedBytes: number;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 10).toFixed(1)} KiB`;
}

export function memoryPlan(input: MemoryPlanInput, limits: MemoryLimits): MemoryPlan {
  const population = populationBytes(input.parameters, input.models);
  const wasmHeap = input.graphBytes + 4 * input.parameters;
  const worker = input.loadedBytes + (limits.path === 'wasm' ? population : 0);
  const problems: string[] = [];
  if (limits.path === 'wasm' && wasmHeap > WASM_HEAP_LIMIT) {
    problems.push(`onnxruntime's WASM memory stops at ${formatBytes(WASM_HEAP_LIMIT)}, and scoring this model needs about ${formatBytes(wasmHeap)} (the ${formatBytes(input.graphBytes)} graph and ${formatBytes(4 * input.parameters)} of weights fed to it): use a WebGPU browser.`);
  }
  const vector = 4 * input.parameters;
  const binding = limits.path === 'webgpu' ? Math.min(limits.maxStorageBufferBindingSize ?? Infinity, limits.maxBufferSize ?? Infinity) : Infinity;
  if (vector > binding) {
    problems.push(`each model's ${formatBytes(vector)} of evolved weights is one GPU buffer, and this device allows at most ${formatBytes(binding)} per buffer: evolve fewer tensors (per-tensor rules) or use the WASM path.`);
  }
  return { populationBytes: population, wasmHeapBytes: wasmHeap, workerBytes: worker, problems };
}
