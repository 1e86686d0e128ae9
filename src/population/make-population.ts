/**
 * The one place a population and its merger are chosen, for the engine's runs and merges
 * and for the CLI alike: on the GPU when a device is given and the method's GPU merger
 * takes this run (its gpuInputs may refuse, e.g. RegMean after a ridge), else on the CPU
 * with the method's CPU twin. Out-of-memory failures are reported with the numbers.
 */
import { CpuMerger } from '../merge/cpu-merger';
import { gpuPlan } from '../merge/registry';
import { CpuPopulation } from './cpu-population';
import { GpuPopulation } from './gpu-population';
import { IncrementalLinearUpdate, linearMergePlan } from './incremental-merge';
import type { ParameterLayout } from '../merge/layout';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { allocatePopulation, type PopulationStore } from './population';

export interface PopulationParams {
  device: GPUDevice | null;
  layout: ParameterLayout;
  flats: readonly Float32Array[];
  base: Float32Array | null;
  params: MergeParams;
  /** The method's prepared inputs (merge/registry.ts prepareInputs); null for weight-only methods. */
  inputs?: unknown;
}

export function mergePopulation({ device, layout, flats, base, params, inputs = null }: PopulationParams): PopulationStore {
  const onGpu = device ? gpuPlan(params, inputs, layout) : null;
  return onGpu
    ? allocatePopulation('GPU', layout.totalSize, flats.length, () => new GpuPopulation(device!, layout, flats, params, base, onGpu.inputs))
    : allocatePopulation('WASM path', layout.totalSize, flats.length, () => {
        const plan = linearMergePlan(params, layout, flats.length, base !== null, inputs);
        const incremental = plan ? IncrementalLinearUpdate.for(params, layout, flats.length, base !== null, inputs) : null;
        return new CpuPopulation(layout, flats, new CpuMerger(layout, params, base, inputs), base, incremental, plan);
      });
}

/** A population for a merger that needs no data (every merger but RegMean and Fisher, and kinship). */
export function weightOnlyPopulation(
  device: GPUDevice | null,
  layout: ParameterLayout,
  flats: readonly Float32Array[],
  base: Float32Array | null,
  params: MergeParams = DEFAULT_MERGE,
): PopulationStore {
  return mergePopulation({ device, layout, flats, base, params });
}
