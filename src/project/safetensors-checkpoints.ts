/**
 * Groups dropped safetensors files into checkpoints: a Hugging Face sharded checkpoint is
 * model.safetensors.index.json plus the shards its weight_map names (resolved in the
 * index's folder); any other .safetensors file is a checkpoint of its own. Names: the
 * folder a checkpoint was dropped in ("expert-a/model.safetensors.index.json" → expert-a),
 * else the file's name. Pure module: bytes in, float32 tensors out (the integer ones as stored).
 */
import { FileError } from '../formats/errors';
import { baseName, folderOf } from '../formats/paths';
import { FLOAT_DTYPES, type SafetensorsDtype } from '../formats/safetensors-format';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import type { RawTensor, SourceCheckpoint } from './graph-mapping';
import type { InputFile } from './input-files';

const decoder = new TextDecoder();

export class SafetensorsCheckpointError extends FileError {
  override name = 'SafetensorsCheckpointError';
}

export interface SafetensorsGroup {
  /** The checkpoint's name in the studio. */
  name: string;
  /** The index file of a sharded checkpoint. */
  index: InputFile | null;
  shards: InputFile[];
}

/** "runs/expert-a/model.safetensors.index.json" → "expert-a"; "expert-a.safetensors.index.json" → "expert-a". */
function checkpointName(path: string, suffix: RegExp): string {
  const folder = folderOf(path).replace(/\/$/, '');
  const own = baseName(path).replace(suffix, '');
  if (folder && (own === 'model' || own === '')) return baseName(folder);
  return folder ? `${baseName(folder)}/${own}` : own;
}

/** The shard names an index's weight_map lists, in first-use order. */
export function indexShards(index: InputFile): { weightMap: Map<string, string>; shards: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(index.bytes));
  } catch {
    throw new SafetensorsCheckpointError(index.name, 'is not valid JSON.');
  }
  const map = (json as { weight_map?: unknown })?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new SafetensorsCheckpointError(index.name, 'has no "weight_map" object (tensor name → shard file).');
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard.includes('..')) throw new SafetensorsCheckpointError(index.name, `maps "${tensor}" to ${JSON.stringify(shard)}, not a shard file name.`);
    weightMap.set(tensor, shard);
  }
  if (weightMap.size === 0) throw new SafetensorsCheckpointError(index.name, 'lists no tensors.');
  return { weightMap, shards: [...new Set(weightMap.values())] };
}

/**
 * Sharded checkpoints from their index files, single-file checkpoints from the rest.
 * Problems (a shard the drop lacks, a bad index) are returned per file, not thrown.
 */
export function groupSafetensors(indexes: readonly InputFile[], files: readonly InputFile[]): { groups: SafetensorsGroup[]; problems: { fileName: string; message: string }[] } {
  const byPath = new Map(files.map((f) => [f.name, f]));
  const claimed = new Set<string>();
  const groups: SafetensorsGroup[] = [];
  const problems: { fileName: string; message: string }[] = [];
  for (const index of indexes) {
    try {
      const { shards } = indexShards(index);
      const folder = folderOf(index.name);
      const missing = shards.filter((s) => !byPath.has(folder + s));
      if (missing.length > 0) throw new SafetensorsCheckpointError(index.name, `names shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, not in this drop: drop the whole checkpoint folder (the index and every shard) together.`);
      for (const s of shards) claimed.add(folder + s);
      groups.push({ name: checkpointName(index.name, /\.safetensors\.index\.json$/i), index, shards: shards.map((s) => byPath.get(folder + s)!) });
    } catch (err) {
      problems.push({ fileName: index.name, message: err instanceof Error ? err.message : String(err) });
      // Its shards are not checkpoints of their own either.
      try {
        for (const s of indexShards(index).shards) claimed.add(folderOf(index.name) + s);
      } catch {
        /* the index's own problem is reported */
      }
    }
  }
  for (const file of files) {
    if (claimed.has(file.name)) continue;
    groups.push({ name: checkpointName(file.name, /\.safetensors$/i), index: null, shards: [file] });
  }
  return { groups, problems };
}

interface ShardTensor {
  name: string;
  /** null: not a float tensor whose bytes were not kept (only its name is known). */
  dtype: SafetensorsDtype | null;
  shape: number[];
  floats: () => Float32Array;
  /** The stored bytes, for the tensors that are not floats. */
  bytes: () => Uint8Array;
}

const NONE = () => new Float32Array(0);

/** A shard's tensors in file order, whether it was read whole or tensor by tensor from a Blob. */
function shardTensors(shard: InputFile): ShardTensor[] {
  if (shard.streamed) {
    const raw = new Map((shard.streamedRaw ?? []).map((r) => [r.name, r]));
    const others = shard.streamed.otherTensors.map((name) => {
      const r = raw.get(name);
      return { name, dtype: (r?.dtype ?? null) as SafetensorsDtype | null, shape: r?.dims ?? [], floats: NONE, bytes: () => r?.bytes ?? new Uint8Array(0) };
    });
    return [...shard.streamed.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, floats: () => t.data, bytes: () => new Uint8Array(0) })), ...others];
  }
  return readSafetensors(shard.bytes, shard.name).tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, floats: () => tensorToFloat32(t), bytes: () => t.data.slice() }));
}

/** Bytes of a file as dropped (a Blob-read shard's size, not its empty bytes). */
export function fileSize(file: InputFile): number {
  return file.streamed?.size ?? file.bytes.byteLength;
}

/** A grouped checkpoint's float tensors (and the others as stored bytes), in shard order; checks each tensor sits in the shard its index names. */
export function readSafetensorsCheckpoint(group: SafetensorsGroup): SourceCheckpoint {
  const weightMap = group.index ? indexShards(group.index).weightMap : null;
  const tensors: SourceCheckpoint['tensors'] = [];
  const raw: RawTensor[] = [];
  const dtypes = new Map<SafetensorsDtype, number>();
  const seen = new Set<string>();
  for (const shard of group.shards) {
    for (const t of shardTensors(shard)) {
      if (seen.has(t.name)) throw new SafetensorsCheckpointError(shard.name, `repeats tensor "${t.name}" from another shard of ${group.name}.`);
      seen.add(t.name);
      if (weightMap && weightMap.get(t.name) !== baseName(shard.name)) {
        throw new SafetensorsCheckpointError(shard.name, `holds "${t.name}", which ${group.index!.name} places in ${weightMap.get(t.name) ?? 'no shard'}.`);
      }
      if (!t.dtype) continue;
      if (!FLOAT_DTYPES.has(t.dtype)) {
        raw.push({ name: t.name, dtype: t.dtype, dims: t.shape, bytes: t.bytes() });
        continue;
      }
      dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
      tensors.push({ name: t.name, dims: t.shape, data: t.floats() });
    }
  }
  if (weightMap) {
    const absent = [...weightMap.keys()].filter((n) => !seen.has(n));
    if (absent.length > 0) throw new SafetensorsCheckpointError(group.index!.name, `lists ${absent.length} tensor${absent.length > 1 ? 's' : ''} no shard holds (e.g. "${absent[0]}").`);
  }
  if (tensors.length === 0) throw new SafetensorsCheckpointError(group.shards[0]!.name, 'holds no float tensors (F32, F16, BF16 or F64).');
  const dtype = [...dtypes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return raw.length > 0 ? { name: group.name, dtype, tensors, raw } : { name: group.name, dtype, tensors };
}
