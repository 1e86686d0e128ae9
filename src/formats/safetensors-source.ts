// Safetensors checkpoints read tensor by tensor through byte ranges: the header first (the
// 8-byte length, then the JSON), then each tensor's bytes when it is asked for, whole or a
// band of rows. The bytes come from any ByteReader: a Blob (blob.slice(a, b), in the
// studio) or an open file handle (cli/file-reader.ts), so no file is ever one buffer and a
// file past 2 GiB reads like any other. Floats are decoded to float32 per tensor or band.
// A sharded checkpoint is its shards in order, checked against the index's weight map.
// Pure logic: imports ./errors, ./safetensors-format, ./safetensors-read, ./safetensors-float.

import { SafetensorsFormatError } from './errors';
import { FLOAT_DTYPES, SAFETENSORS_DTYPE_SIZE, shapeSize, type SafetensorsDtype } from './safetensors-format';
import { readSafetensorsLayout, safetensorsHeaderBytes } from './safetensors-read';
import { tensorToFloat32 } from './safetensors-float';

/** Random access to a file's bytes. */
export interface ByteReader {
  readonly size: number;
  /** Bytes [start, end) as a fresh array (offset 0, so float32 views need no copy). */
  read(start: number, end: number): Promise<Uint8Array>;
  /** Bytes [start, end) into `dest` (exactly that long): a reused buffer spares a fresh one per read. */
  readInto?(start: number, end: number, dest: Uint8Array): Promise<void>;
}

/** One tensor of a checkpoint: what its header says and where its bytes lie. */
export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The file that holds it (a shard's name) and its absolute byte range there. */
  file: string;
  start: number;
  end: number;
}

/** A checkpoint whose tensors are read on demand. */
export interface TensorSource {
  readonly name: string;
  /** Every tensor, in checkpoint order (shard order, then data-section order). */
  readonly tensors: readonly TensorEntry[];
  readonly metadata: Record<string, string>;
  entry(name: string): TensorEntry | undefined;
  /** A float tensor as float32 (a fresh array). */
  readTensor(name: string): Promise<Float32Array>;
  /** Rows [rowStart, rowEnd) along the first axis of a float tensor, as float32. */
  readRows(name: string, rowStart: number, rowEnd: number): Promise<Float32Array>;
  /** A tensor's bytes as stored (the integer tensors a merge copies through). */
  readBytes(name: string): Promise<Uint8Array>;
  /**
   * Rows [rowStart, rowEnd) of a float tensor as stored, undecoded (the streamed merge's bfloat16
   * path): into `into` when given (exactly that long; it is returned), else a fresh array.
   */
  readRowBytes?(name: string, rowStart: number, rowEnd: number, into?: Uint8Array): Promise<Uint8Array>;
}

/** A Blob (a dropped File) as a ByteReader. */
export function blobReader(blob: Blob): ByteReader {
  return { size: blob.size, read: async (start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer()) };
}

/** Elements in one row along the first axis (a 0-d or 1-d tensor: 1). */
export function rowLength(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shapeSize(shape.slice(1));
}

/** Stored bytes decoded to float32: F32 viewed in place when aligned, the rest converted. */
export function decodeFloats(dtype: SafetensorsDtype, bytes: Uint8Array, name: string): Float32Array {
  if (dtype === 'F32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return tensorToFloat32({ name, dtype, shape: [bytes.byteLength / SAFETENSORS_DTYPE_SIZE[dtype]], data: bytes });
}

class ShardedSource implements TensorSource {
  private readonly byName: Map<string, TensorEntry>;

  constructor(
    readonly name: string,
    readonly tensors: readonly TensorEntry[],
    readonly metadata: Record<string, string>,
    private readonly readers: ReadonlyMap<string, ByteReader>,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  entry(name: string): TensorEntry | undefined {
    return this.byName.get(name);
  }

  private need(name: string, float: boolean): TensorEntry {
    const t = this.byName.get(name);
    if (!t) throw new SafetensorsFormatError(this.name, `has no tensor "${name}"`);
    if (float && !FLOAT_DTYPES.has(t.dtype)) throw new SafetensorsFormatError(t.file, `tensor "${name}" is ${t.dtype}, not a float tensor`);
    return t;
  }

  readBytes(name: string): Promise<Uint8Array> {
    const t = this.need(name, false);
    return this.readers.get(t.file)!.read(t.start, t.end);
  }

  async readTensor(name: string): Promise<Float32Array> {
    const t = this.need(name, true);
    return decodeFloats(t.dtype, await this.readers.get(t.file)!.read(t.start, t.end), name);
  }

  async readRows(name: string, rowStart: number, rowEnd: number): Promise<Float32Array> {
    return decodeFloats(this.need(name, true).dtype, await this.readRowBytes(name, rowStart, rowEnd), name);
  }

  async readRowBytes(name: string, rowStart: number, rowEnd: number, into?: Uint8Array): Promise<Uint8Array> {
    const t = this.need(name, true);
    const rows = t.shape.length === 0 ? 1 : t.shape[0]!;
    if (!(Number.isInteger(rowStart) && Number.isInteger(rowEnd) && rowStart >= 0 && rowStart <= rowEnd && rowEnd <= rows)) {
      throw new SafetensorsFormatError(t.file, `tensor "${name}" has ${rows} rows; rows [${rowStart}, ${rowEnd}) were asked for`);
    }
    const rowBytes = rowLength(t.shape) * SAFETENSORS_DTYPE_SIZE[t.dtype];
    const [start, end] = [t.start + rowStart * rowBytes, t.start + rowEnd * rowBytes];
    const reader = this.readers.get(t.file)!;
    if (!into) return reader.read(start, end);
    if (into.byteLength !== end - start) throw new SafetensorsFormatError(t.file, `tensor "${name}": rows [${rowStart}, ${rowEnd}) are ${end - start} bytes, the buffer ${into.byteLength}`);
    if (reader.readInto) await reader.readInto(start, end, into);
    else into.set(await reader.read(start, end));
    return into;
  }
}

/** One safetensors file's header and tensor ranges (every check of the format's reader). */
export async function readSafetensorsEntries(reader: ByteReader, fileName: string): Promise<{ tensors: TensorEntry[]; metadata: Record<string, string> }> {
  const first8 = await reader.read(0, Math.min(8, reader.size));
  const head = await reader.read(0, Math.min(reader.size, safetensorsHeaderBytes(first8)));
  const layout = readSafetensorsLayout(head, reader.size, fileName);
  const tensors = layout.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, file: fileName, start: layout.dataStart + t.begin, end: layout.dataStart + t.end }));
  return { tensors, metadata: layout.metadata };
}

/** One safetensors file as a TensorSource. */
export async function openSafetensorsFile(reader: ByteReader, fileName: string, name = fileName): Promise<TensorSource> {
  const { tensors, metadata } = await readSafetensorsEntries(reader, fileName);
  return new ShardedSource(name, tensors, metadata, new Map([[fileName, reader]]));
}

export interface ShardInput {
  /** The shard's name as its index names it ("model-00001-of-00002.safetensors"), and how it is shown. */
  key: string;
  fileName: string;
  reader: ByteReader;
}

/**
 * A sharded checkpoint as one TensorSource: the shards in the given order, each tensor checked
 * to sit in the shard the index's weight map names, none repeated, none the index lists missing.
 */
export async function openShardedSafetensors(name: string, shards: readonly ShardInput[], weightMap: ReadonlyMap<string, string> | null, indexName = 'the index'): Promise<TensorSource> {
  const tensors: TensorEntry[] = [];
  const seen = new Set<string>();
  const readers = new Map<string, ByteReader>();
  for (const shard of shards) {
    readers.set(shard.fileName, shard.reader);
    for (const t of (await readSafetensorsEntries(shard.reader, shard.fileName)).tensors) {
      if (seen.has(t.name)) throw new SafetensorsFormatError(shard.fileName, `repeats tensor "${t.name}" from another shard of ${name}.`);
      seen.add(t.name);
      if (weightMap && weightMap.get(t.name) !== shard.key) throw new SafetensorsFormatError(shard.fileName, `holds "${t.name}", which ${indexName} places in ${weightMap.get(t.name) ?? 'no shard'}.`);
      tensors.push(t);
    }
  }
  if (weightMap) {
    const absent = [...weightMap.keys()].filter((n) => !seen.has(n));
    if (absent.length > 0) throw new SafetensorsFormatError(indexName, `lists ${absent.length} tensor${absent.length > 1 ? 's' : ''} no shard holds (e.g. "${absent[0]}").`);
  }
  return new ShardedSource(name, tensors, {}, readers);
}

/** The float tensors of a source, in order. */
export function floatEntries(source: TensorSource): TensorEntry[] {
  return source.tensors.filter((t) => FLOAT_DTYPES.has(t.dtype));
}
