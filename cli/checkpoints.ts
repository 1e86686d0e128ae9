/**
 * Loads the CLI's model arguments as tensor checkpoints (ONNX or safetensors), checks
 * they share one architecture, and builds the population store the merge and kinship
 * commands work on: the CPU one, or the GPU one on a WebGPU device.
 */
import { weightOnlyPopulation } from '../src/population/make-population';
import { flattenTensors, layoutOfTensors, type ParameterLayout } from '../src/merge/layout';
import { DEFAULT_MERGE, type MergeParams } from '../src/protocol/settings';
import type { PopulationStore } from '../src/population/population';
import { checkSameTensors, readTensorCheckpointFiles, tensorPositions, type TensorCheckpoint } from '../src/project/tensor-sets';
import type { StudioDevice } from '../src/gpu/device';
import { readModelInput } from './io';
import { UsageError } from './args';

export interface LoadedModels {
  models: TensorCheckpoint[];
  base: TensorCheckpoint | null;
  layout: ParameterLayout;
}

export function loadModels(files: readonly string[], baseFile: string | undefined, minModels: number): LoadedModels {
  if (files.length < minModels) throw new UsageError(`give at least ${minModels} model files (got ${files.length}).`);
  const models = files.map((f) => readTensorCheckpointFiles(readModelInput(f)));
  const base = baseFile ? readTensorCheckpointFiles(readModelInput(baseFile)) : null;
  checkSameTensors(base ? [...models, base] : models);
  const layout = layoutOfTensors(models.map((m) => m.tensors), tensorPositions(models[0]!));
  if (layout.totalSize === 0) throw new UsageError('the models have identical weights: nothing to merge or compare.');
  return { models, base, layout };
}

/** The population of the loaded models with a merger, on the GPU when a device is given (and the merger has kernels). */
export function populationOf(loaded: LoadedModels, device: StudioDevice | null, params: MergeParams = DEFAULT_MERGE): PopulationStore {
  const flats = loaded.models.map((m) => flattenTensors(m.tensors, loaded.layout));
  const base = loaded.base ? flattenTensors(loaded.base.tensors, loaded.layout) : null;
  return weightOnlyPopulation(device?.device ?? null, loaded.layout, flats, base, params);
}
