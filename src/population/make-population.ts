/**
 * A population for a merger that needs no data (every merger but RegMean and Fisher, and
 * kinship): on the GPU when a device is given and the merger has kernels there, else on the
 * CPU. The engine's runs build theirs in engine.ts (data-aware inputs, memory checks).
 */
import { CpuMerger } from '../merge/cpu-merger';
import { CpuPopulation } from './cpu-population';
import { GpuPopulation, GPU_MERGE_METHODS } from './gpu-population';
import type { ParameterLayout } from '../merge/layout';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import type { PopulationStore } from './population';

export function weightOnlyPopulation(
  device: GPUDevice | null,
  layout: ParameterLayout,
  flats: readonly Float32Array[],
  base: Float32Array | null,
  params: MergeParams = DEFAULT_MERGE,
): PopulationStore {
  if (device && GPU_MERGE_METHODS.has(params.method)) return new GpuPopulation(device, layout, flats, params, base);
  return new CpuPopulation(layout, flats, new CpuMerger(layout, params, base), base);
}
