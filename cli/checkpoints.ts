/**
 * Loads the CLI's model arguments as tensor checkpoints (ONNX or safetensors), checks
 * they share one architecture, and builds the population store the merge and kinship
 * commands work on: the CPU one, or the GPU one on a WebGPU device; and writes a merge's
 * file the way mergekit does (each tensor in its input dtype unless one is asked for, the
 * integer tensors copied through from the base or the first model).
 */
import { weightOnlyPopulation } from '../src/population/make-population';
import { assembleTensors, flattenTensors, layoutOfTensors, type ParameterLayout } from '../src/merge/layout';
import type { MergeMethodDef } from '../src/merge/method';
import { baseAsModel } from '../src/merge/base-as-model';
import { DEFAULT_MERGE, type MergeParams } from '../src/protocol/settings';
import type { PopulationStore } from '../src/population/population';
import { checkSameTensors, readTensorCheckpointFiles, tensorPositions, type TensorCheckpoint } from '../src/project/tensor-sets';
import { writeTypedSafetensors, type TypedTensor } from '../src/export/result-export';
import type { StudioDevice } from '../src/gpu/device';
import type { SafetensorsWriteDtype } from '../src/protocol/files';
import { readModelInput } from './io';
import { UsageError } from './args';

export interface LoadedModels {
  models: TensorCheckpoint[];
  base: TensorCheckpoint | null;
  layout: ParameterLayout;
}

export function loadModels(files: readonly string[], baseFile: string | undefined, minModels: number): LoadedModels {
  if (files.length < minModels) throw new UsageError(`give at least ${minModels} model file${minModels > 1 ? 's' : ''} (got ${files.length}).`);
  const models = files.map((f) => readTensorCheckpointFiles(readModelInput(f)));
  const base = baseFile ? readTensorCheckpointFiles(readModelInput(baseFile)) : null;
  checkSameTensors(base ? [...models, base] : models);
  // The base takes part in deciding what is merged: a tensor every model changes the same
  // way is equal across the models but not to the base, and merges to base + Σλτ.
  const sets = (base ? [...models, base] : models).map((m) => m.tensors);
  const layout = layoutOfTensors(sets, tensorPositions(models[0]!));
  if (layout.totalSize === 0) throw new UsageError(`the models${base ? ' and the base' : ''} have identical weights: nothing to merge or compare.`);
  return { models, base, layout };
}

/**
 * What a method merges: as loaded, or, for a method that reads a given base as one of its
 * models (method.baseAsModel: SLERP's t = 0 side, linear's extra model), the base among the
 * models (src/merge/base-as-model.ts, shared with the studio's engine). Linear's weights may
 * then leave the base's out (it weighs 1).
 */
export function methodInputs(loaded: LoadedModels, method: MergeMethodDef, params: MergeParams): { loaded: LoadedModels; params: MergeParams } {
  const inputs = baseAsModel(loaded.models, loaded.base, method, params);
  return { loaded: { models: inputs.models, base: inputs.base, layout: loaded.layout }, params: inputs.params };
}

/** The population of the loaded models with a merger, on the GPU when a device is given (and the merger has kernels). */
export function populationOf(loaded: LoadedModels, device: StudioDevice | null, params: MergeParams = DEFAULT_MERGE): PopulationStore {
  const flats = loaded.models.map((m) => flattenTensors(m.tensors, loaded.layout));
  const base = loaded.base ? flattenTensors(loaded.base.tensors, loaded.layout) : null;
  return weightOnlyPopulation(device?.device ?? null, loaded.layout, flats, base, params);
}

const WRITABLE = new Set(['F64', 'F32', 'F16', 'BF16']);

/**
 * The merged checkpoint as safetensors bytes: every float tensor of the first model with the
 * merged ones in place, each in `dtype` or, when null, in the dtype the first model stores it
 * in (mergekit writes its inputs' dtype unless out_dtype is set); then the tensors that are
 * not floats (I64 position ids, masks) as the base (or the first model) stores them.
 */
export function mergedSafetensors(loaded: LoadedModels, merged: Float32Array, metadata: Record<string, string>, dtype: SafetensorsWriteDtype | null): Uint8Array {
  const first = loaded.models[0]!;
  const floats: TypedTensor[] = assembleTensors(first.tensors, loaded.layout, merged).map((t) => {
    const stored = first.dtypes.get(t.name) ?? 'F32';
    const out = (dtype ?? (WRITABLE.has(stored) ? stored : 'F32')) as 'F64' | 'F32' | 'F16' | 'BF16';
    return { name: t.name, shape: t.dims, dtype: out, data: t.data };
  });
  const raw = (loaded.base ?? first).raw ?? [];
  return writeTypedSafetensors([...floats, ...raw.map((r) => ({ name: r.name, shape: r.dims, dtype: r.dtype, bytes: r.bytes }))], metadata);
}
