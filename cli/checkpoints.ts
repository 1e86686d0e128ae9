/**
 * Loads the CLI's model arguments as tensor checkpoints (ONNX or safetensors), checks
 * they share one architecture, and builds the population store the merge and kinship
 * commands work on: the CPU one, or the GPU one on a WebGPU device.
 */
import { CpuMerger } from '../src/engine/cpu-merger';
import { CpuPopulation } from '../src/engine/cpu-population';
import { GpuPopulation, GPU_MERGE_METHODS } from '../src/engine/gpu-population';
import { flattenTensors, layoutOfTensors, type ParameterLayout } from '../src/engine/layout';
import { DEFAULT_MERGE, type MergeParams } from '../src/engine/merge-params';
import type { PopulationStore } from '../src/engine/population';
import { checkSameTensors, readTensorCheckpoint, tensorPositions, type TensorCheckpoint } from '../src/engine/tensor-sets';
import type { StudioDevice } from '../src/gpu/device';
import { readInput } from './io';
import { UsageError } from './args';

export interface LoadedModels {
  models: TensorCheckpoint[];
  base: TensorCheckpoint | null;
  layout: ParameterLayout;
}

export function loadModels(files: readonly string[], baseFile: string | undefined, minModels: number): LoadedModels {
  if (files.length < minModels) throw new UsageError(`give at least ${minModels} model files (got ${files.length}).`);
  const models = files.map((f) => readTensorCheckpoint(readInput(f)));
  const base = baseFile ? readTensorCheckpoint(readInput(baseFile)) : null;
  checkSameTensors(base ? [...models, base] : models);
  const layout = layoutOfTensors(models.map((m) => m.tensors), tensorPositions(models[0]!));
  if (layout.totalSize === 0) throw new UsageError('the models have identical weights: nothing to merge or compare.');
  return { models, base, layout };
}

/** The population of the loaded models with a merger, on the GPU when a device is given (and the merger has kernels). */
export function populationOf(loaded: LoadedModels, device: StudioDevice | null, params: MergeParams = DEFAULT_MERGE): PopulationStore {
  const flats = loaded.models.map((m) => flattenTensors(m.tensors, loaded.layout));
  const base = loaded.base ? flattenTensors(loaded.base.tensors, loaded.layout) : null;
  if (device && GPU_MERGE_METHODS.has(params.method)) return new GpuPopulation(device.device, loaded.layout, flats, params, base);
  return new CpuPopulation(loaded.layout, flats, new CpuMerger(loaded.layout, params, base), base);
}
