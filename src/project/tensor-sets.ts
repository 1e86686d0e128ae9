/**
 * Checkpoints as named float tensors, whatever file they came from: an ONNX graph's
 * float initializers, or a safetensors file's float tensors (F32, F16, BF16, F64 read as
 * f32). Merging and kinship need only these; scoring needs an ONNX graph as well.
 * Used by the CLI; the studio's workspace keeps ONNX checkpoints.
 * Pure module: bytes in, tensors out; errors name the file.
 */
import { FileError } from '../formats/errors';
import { describeArchitectureDifference } from '../formats/onnx-compare';
import { readOnnx, type OnnxModel } from '../formats/onnx-read';
import { FLOAT_DTYPES } from '../formats/safetensors-format';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { detectFormat } from '../formats/registry';
import { onnxFloatTensors, onnxPositions, type FloatTensor, type TensorPosition } from '../merge/layout';
import { layerOf } from '../merge/tensor-position';
import type { InputFile } from './input-files';
import { embedExternalData } from '../formats/onnx-external';
import { groupSafetensors, readSafetensorsCheckpoint } from './safetensors-checkpoints';
import type { RawTensor } from './graph-mapping';


export interface TensorCheckpoint {
  name: string;
  format: 'onnx' | 'safetensors';
  tensors: FloatTensor[];
  /** Stored dtype per tensor (ONNX: FLOAT). */
  dtypes: Map<string, string>;
  /** Tensors that are not floats (integer buffers, ONNX constants): never merged. */
  skipped: { name: string; dtype: string; dims: number[] }[];
  /** The bytes of the skipped safetensors tensors (integer ids, masks), copied through into merges. */
  raw?: RawTensor[];
  /** The graph, for ONNX checkpoints. */
  model: OnnxModel | null;
  metadata: Record<string, string>;
}

export type { RawTensor } from './graph-mapping';

export class CheckpointError extends FileError {
  override name = 'CheckpointError';
}

/** Why the graph's weights cannot be read from this file alone, or null. */
export function externalWeightsProblem(model: OnnxModel): string | null {
  const external = model.initializers.filter((i) => i.external);
  if (external.length > 0) {
    return `keeps ${external.length} weight tensor${external.length > 1 ? 's' : ''} (e.g. "${external[0]!.name}") in an external data file that did not come with it: give the .onnx beside its data file (or its folder).`;
  }
  if (onnxFloatTensors(model).length === 0) return 'has no float weights stored in the graph.';
  return null;
}

/** Count of NaN and ±Inf values: merging spreads them, so the studio warns about them. */
export function nonFiniteCount(tensors: readonly FloatTensor[]): number {
  let count = 0;
  for (const t of tensors) for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i]!)) count++;
  return count;
}

export function readTensorCheckpoint(file: InputFile): TensorCheckpoint {
  const format = detectFormat(file.name, file.bytes.subarray(0, 65536));
  if (format === 'onnx') {
    const model = readOnnx(file.bytes, file.name);
    const tensors = onnxFloatTensors(model);
    const problem = externalWeightsProblem(model);
    if (problem) throw new CheckpointError(file.name, problem);
    return {
      name: file.name,
      format,
      tensors,
      dtypes: new Map(tensors.map((t) => [t.name, 'F32'])),
      skipped: model.initializers.filter((i) => i.floats === null).map((i) => ({ name: i.name, dtype: `onnx type ${i.dataType}`, dims: i.dims })),
      model,
      metadata: {},
    };
  }
  if (format === 'safetensors') {
    const parsed = readSafetensors(file.bytes, file.name);
    const floats = parsed.tensors.filter((t) => FLOAT_DTYPES.has(t.dtype));
    if (floats.length === 0) throw new CheckpointError(file.name, 'has no floating-point tensors.');
    return {
      name: file.name,
      format,
      tensors: floats.map((t) => ({ name: t.name, dims: t.shape, data: tensorToFloat32(t) })),
      dtypes: new Map(floats.map((t) => [t.name, t.dtype])),
      skipped: parsed.tensors.filter((t) => !FLOAT_DTYPES.has(t.dtype)).map((t) => ({ name: t.name, dtype: t.dtype, dims: t.shape })),
      raw: parsed.tensors.filter((t) => !FLOAT_DTYPES.has(t.dtype)).map((t) => ({ name: t.name, dtype: t.dtype, dims: t.shape, bytes: t.data.slice() })),
      model: null,
      metadata: parsed.metadata,
    };
  }
  throw new CheckpointError(file.name, `is not a checkpoint (found ${format === 'unknown' ? 'an unrecognised file' : `a ${format} file`}; expected .onnx or .safetensors).`);
}

/**
 * One checkpoint from the files it is made of (cli/io.ts readModelInput): a single file, an
 * .onnx with its external data, or a (sharded) safetensors checkpoint with its index.
 */
export function readTensorCheckpointFiles(files: readonly InputFile[]): TensorCheckpoint {
  if (files.length === 1) return readTensorCheckpoint(files[0]!);
  const byFormat = (format: string) => files.filter((f) => detectFormat(f.name, f.bytes.subarray(0, 65536)) === format);
  const onnx = byFormat('onnx');
  if (onnx.length === 1) {
    const model = readOnnx(onnx[0]!.bytes, onnx[0]!.name);
    const bytes = embedExternalData(onnx[0]!.bytes, model, onnx[0]!.name, new Map(byFormat('onnx-data').map((f) => [f.name, f.bytes])));
    return readTensorCheckpoint({ name: onnx[0]!.name, bytes });
  }
  const { groups, problems } = groupSafetensors(byFormat('safetensors-index'), byFormat('safetensors'));
  if (problems.length > 0) throw new CheckpointError(problems[0]!.fileName, problems[0]!.message.replace(`${problems[0]!.fileName}: `, ''));
  if (groups.length !== 1) throw new CheckpointError(files[0]!.name, `is one of ${files.length} files that make ${groups.length} checkpoints, not one: give one checkpoint (a folder, an index with its shards, or a file) per argument.`);
  const source = readSafetensorsCheckpoint(groups[0]!);
  const raw = source.raw ?? [];
  return {
    name: source.name,
    format: 'safetensors',
    tensors: source.tensors,
    dtypes: new Map(source.tensors.map((t) => [t.name, source.dtype])),
    skipped: raw.map((r) => ({ name: r.name, dtype: r.dtype, dims: r.dims })),
    raw,
    model: null,
    metadata: {},
  };
}

/** null when b has the same float tensors (names and shapes) as a, else one sentence naming b and what differs. */
export function describeTensorDifference(a: TensorCheckpoint, b: TensorCheckpoint): string | null {
  if (a.model && b.model) {
    const graph = describeArchitectureDifference({ fileName: a.name, model: a.model }, { fileName: b.name, model: b.model });
    if (graph) return graph;
  }
  const bByName = new Map(b.tensors.map((t) => [t.name, t]));
  for (const t of a.tensors) {
    const other = bByName.get(t.name);
    if (!other) return `${b.name} has no tensor "${t.name}" (${a.name} has ${t.dims.join('×') || 'a scalar'})`;
    if (other.dims.join(',') !== t.dims.join(',')) return `${b.name}: tensor "${t.name}" has shape [${other.dims.join(', ')}], ${a.name} has [${t.dims.join(', ')}]`;
  }
  const aNames = new Set(a.tensors.map((t) => t.name));
  const extra = b.tensors.find((t) => !aNames.has(t.name));
  if (extra) return `${b.name} has a tensor "${extra.name}" that ${a.name} lacks`;
  return null;
}

/** Throws a CheckpointError naming the first checkpoint that does not match the first one. */
export function checkSameTensors(checkpoints: readonly TensorCheckpoint[]): void {
  for (const c of checkpoints.slice(1)) {
    const difference = describeTensorDifference(checkpoints[0]!, c);
    if (difference) throw new CheckpointError(c.name, `not the same architecture as ${checkpoints[0]!.name}: ${difference}`);
  }
}

/**
 * Depth and layer of each tensor: from the graph for ONNX; for safetensors, file order
 * (writers store modules in order) and the numbered block in the name.
 */
export function tensorPositions(checkpoint: TensorCheckpoint): Map<string, TensorPosition> {
  if (checkpoint.model) return onnxPositions(checkpoint.model);
  const last = Math.max(1, checkpoint.tensors.length - 1);
  return new Map(checkpoint.tensors.map((t, i) => [t.name, { depth: i / last, layer: layerOf(t.name, undefined) }]));
}

export function parameterCount(checkpoint: TensorCheckpoint): number {
  return checkpoint.tensors.reduce((n, t) => n + t.data.length, 0);
}
