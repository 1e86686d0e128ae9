// A safetensors writer that streams: the header first (every tensor's size is known from its
// dtype and shape before any data exists), then each tensor's bytes appended as they are
// produced, in pieces if need be, optionally cut into shards with a model.safetensors.index.json.
// The bytes are the same as the whole-buffer writers' (result-export.ts writeTypedSafetensors,
// exports.ts typedShardedSafetensors): same header text, padding, shard plan and index.
// Pure logic: where the bytes go is a ByteSink (a file handle in the CLI, a File System
// Access writable or Blob parts in the studio).

import { SafetensorsFormatError } from './errors';
import { METADATA_KEY, SAFETENSORS_DTYPE_SIZE, formatShape, isDtype, shapeSize, type SafetensorsDtype } from './safetensors-format';
import { encodeBFloat16, encodeFloat16 } from './safetensors-float';

export interface StreamEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/** Where a file's bytes go, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

const WRITER = 'safetensors stream writer';

export function entryBytes(e: StreamEntry): number {
  return shapeSize(e.shape) * SAFETENSORS_DTYPE_SIZE[e.dtype];
}

/** The 8-byte length and the space-padded JSON header (data 8-byte aligned), metadata first. */
export function safetensorsHeader(entries: readonly StreamEntry[], metadata: Record<string, string>): Uint8Array {
  const parts: string[] = [`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`];
  const names = new Set<string>();
  let offset = 0;
  for (const e of entries) {
    if (!isDtype(e.dtype)) throw new SafetensorsFormatError(WRITER, `tensor "${e.name}": unknown dtype ${String(e.dtype)}`);
    if (e.name === METADATA_KEY || names.has(e.name)) throw new SafetensorsFormatError(WRITER, `tensor name "${e.name}" is reserved or repeated`);
    names.add(e.name);
    const end = offset + entryBytes(e);
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":${formatShape(e.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const text = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil((8 + text.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLen);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(headerLen / 0x1_0000_0000), true);
  out.set(text, 8);
  out.fill(0x20, 8 + text.length);
  return out;
}

/** float32 values stored as `dtype` (F64 widened, F16 / BF16 rounded to nearest even). */
export function encodeFloats(data: Float32Array, dtype: 'F64' | 'F32' | 'F16' | 'BF16'): Uint8Array {
  const encoded = dtype === 'F32' ? data : dtype === 'F64' ? Float64Array.from(data) : dtype === 'F16' ? encodeFloat16(data) : encodeBFloat16(data);
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

export interface ShardPlan {
  fileName: string;
  entries: StreamEntry[];
}

function shardName(stem: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${stem}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * The float tensors cut into shards of at most maxShardBytes (a larger tensor alone), the
 * stored (integer) ones in the last shard, and the index JSON; as typedShardedSafetensors.
 */
export function planStreamShards(floats: readonly StreamEntry[], raw: readonly StreamEntry[], metadata: Record<string, string>, maxShardBytes: number, stem = 'model'): { shards: ShardPlan[]; index: { fileName: string; bytes: Uint8Array } } {
  const groups: StreamEntry[][] = [];
  let current: StreamEntry[] = [];
  let size = 0;
  for (const t of floats) {
    const bytes = entryBytes(t);
    if (current.length > 0 && size + bytes > maxShardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += bytes;
  }
  if (current.length > 0) groups.push(current);
  if (groups.length === 0 && raw.length > 0) groups.push([]);
  const weightMap: Record<string, string> = {};
  const shards = groups.map((g, i) => {
    const fileName = shardName(stem, i, groups.length);
    const entries = i === groups.length - 1 ? [...g, ...raw] : g;
    for (const t of entries) weightMap[t.name] = fileName;
    return { fileName, entries };
  });
  const totalSize = [...floats, ...raw].reduce((n, t) => n + entryBytes(t), 0);
  const index = { metadata: { total_size: totalSize, ...metadata }, weight_map: weightMap };
  return { shards, index: { fileName: `${stem}.safetensors.index.json`, bytes: new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`) } };
}

/**
 * Writes planned files tensor by tensor: append(name, bytes) in plan order, a tensor's bytes
 * in one or more pieces; a shard's sink is opened (and its header written) when its first
 * tensor starts, and closed when the next shard starts or at finish().
 */
export class SafetensorsStreamWriter {
  private shard = -1;
  private entry = -1;
  private remaining = 0;
  private sink: ByteSink | null = null;
  private written = 0;

  constructor(
    private readonly shards: readonly { entries: readonly StreamEntry[]; open: () => ByteSink | Promise<ByteSink> }[],
    private readonly metadata: Record<string, string>,
  ) {}

  /** Data bytes appended so far (headers not counted). */
  get bytesWritten(): number {
    return this.written;
  }

  private async openShard(i: number): Promise<void> {
    if (this.sink) await this.sink.close();
    this.shard = i;
    this.entry = -1;
    this.sink = await this.shards[i]!.open();
    await this.sink.write(safetensorsHeader(this.shards[i]!.entries, this.metadata));
  }

  /** Moves to the next tensor of the plan (opening the next shard when this one is done). */
  private async next(name: string): Promise<void> {
    while (this.shard < 0 || this.entry + 1 >= this.shards[this.shard]!.entries.length) {
      if (this.shard + 1 >= this.shards.length) throw new SafetensorsFormatError(WRITER, `tensor "${name}" is not in the plan, or comes after its end`);
      await this.openShard(this.shard + 1);
    }
    this.entry++;
    const e = this.shards[this.shard]!.entries[this.entry]!;
    if (e.name !== name) throw new SafetensorsFormatError(WRITER, `expected tensor "${e.name}" next, got "${name}"`);
    this.remaining = entryBytes(e);
  }

  private currentName(): string | null {
    return this.shard < 0 || this.entry < 0 ? null : this.shards[this.shard]!.entries[this.entry]!.name;
  }

  async append(name: string, bytes: Uint8Array): Promise<void> {
    if (this.currentName() !== name) {
      if (this.remaining > 0) throw new SafetensorsFormatError(WRITER, `tensor "${this.currentName()}" still lacks ${this.remaining} bytes when "${name}" starts`);
      await this.next(name);
    }
    if (bytes.length > this.remaining) throw new SafetensorsFormatError(WRITER, `tensor "${name}" got ${bytes.length} bytes with only ${this.remaining} left`);
    this.remaining -= bytes.length;
    this.written += bytes.length;
    if (bytes.length > 0) await this.sink!.write(bytes);
  }

  /** Checks every planned tensor got all its bytes, writes the headers of shards with no data, closes. */
  async finish(): Promise<void> {
    if (this.remaining > 0) throw new SafetensorsFormatError(WRITER, `tensor "${this.currentName()}" still lacks ${this.remaining} bytes`);
    const check = (entries: readonly StreamEntry[]) => {
      const missing = entries.find((e) => entryBytes(e) > 0);
      if (missing) throw new SafetensorsFormatError(WRITER, `tensor "${missing.name}" was never written`);
    };
    // Planned empty tensors need no data; shards not yet opened still get their header.
    if (this.shard >= 0) check(this.shards[this.shard]!.entries.slice(this.entry + 1));
    for (let i = this.shard + 1; i < this.shards.length; i++) {
      check(this.shards[i]!.entries);
      await this.openShard(i);
    }
    if (this.sink) await this.sink.close();
    this.sink = null;
  }
}
