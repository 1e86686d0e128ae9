import { describe, expect, it } from 'vitest';
import { memoryPlan, WASM_HEAP_LIMIT } from './memory-plan';

describe('memory plan: what a run needs, said before it starts', () => {
  const sample = { parameters: 233_186, models: 3, graphBytes: 954_683, loadedBytes: 4 * 954_683 };

  it('the sample fits everywhere, and the numbers add up', () => {
    const wasm = memoryPlan(sample, { path: 'wasm', maxStorageBufferBindingSize: null, maxBufferSize: null });
    expect(wasm.problems).toEqual([]);
    expect(wasm.populationBytes).toBe(4 * 233_186 * 6);
    expect(wasm.wasmHeapBytes).toBe(954_683 + 4 * 233_186);
    expect(wasm.workerBytes).toBe(4 * 954_683 + 4 * 233_186 * 6);
    const gpu = memoryPlan(sample, { path: 'webgpu', maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 });
    expect(gpu.problems).toEqual([]);
    expect(gpu.workerBytes).toBe(4 * 954_683); // the population lives on the GPU
  });

  it('a 7B model does not fit the WASM heap, and says so with numbers', () => {
    const big = { parameters: 7e9, models: 3, graphBytes: 28e9, loadedBytes: 84e9 };
    const plan = memoryPlan(big, { path: 'wasm', maxStorageBufferBindingSize: null, maxBufferSize: null });
    expect(plan.wasmHeapBytes).toBeGreaterThan(WASM_HEAP_LIMIT);
    expect(plan.problems).toEqual([expect.stringMatching(/stops at 4\.00 GiB, and scoring this model needs about 52\.15 GiB/)]);
  });

  it('a model vector above the device’s storage binding limit is refused on WebGPU, not on WASM', () => {
    const mid = { parameters: 40e6, models: 2, graphBytes: 160e6, loadedBytes: 320e6 }; // 160 MB per vector
    const gpu = memoryPlan(mid, { path: 'webgpu', maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 });
    expect(gpu.problems).toEqual([expect.stringMatching(/152\.6 MiB of evolved weights is one GPU buffer, and this device allows at most 128\.0 MiB/)]);
    expect(memoryPlan(mid, { path: 'wasm', maxStorageBufferBindingSize: null, maxBufferSize: null }).problems).toEqual([]);
  });
});
