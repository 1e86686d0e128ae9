/**
 * Model arguments opened for a streamed merge: each safetensors file behind an open file
 * handle read by byte range (never whole, so files past 2 GiB read like any other), the
 * checkpoint's tensors from its header (src/formats/safetensors-source.ts), named, grouped
 * and dtyped exactly as the in-memory reader does (io.ts readModelInput with
 * src/project/tensor-sets.ts readTensorCheckpointFiles). Also the file sinks the streamed
 * writer appends to.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FLOAT_DTYPES } from '../src/formats/safetensors-format';
import { floatEntries, openSafetensorsFile, openShardedSafetensors, type ByteReader, type TensorSource } from '../src/formats/safetensors-source';
import type { ByteSink } from '../src/formats/safetensors-stream-write';
import { baseName } from '../src/formats/paths';
import { groupSafetensors, indexShards } from '../src/project/safetensors-checkpoints';
import { CheckpointError } from '../src/project/tensor-sets';
import { InputError } from './io';
import type { StreamCheckpoint as EngineStreamCheckpoint } from '../src/engine/stream-merge';

/** A checkpoint opened for streaming (src/engine/stream-merge.ts), with its model argument as given. */
export interface StreamCheckpoint extends EngineStreamCheckpoint {
  arg: string;
}

/** Open file handles, closed together when the merge ends. */
export class OpenFiles {
  private readonly handles: FileHandle[] = [];

  async reader(file: string): Promise<ByteReader> {
    const handle = await open(file, 'r');
    this.handles.push(handle);
    const size = (await handle.stat()).size;
    // Into a given buffer too: the streamed BF16 merge reads straight into its kernel's memory.
    const fill = async (start: number, end: number, bytes: Uint8Array) => {
      let at = 0;
      while (at < bytes.length) {
        const { bytesRead } = await handle.read(bytes, at, bytes.length - at, start + at);
        if (bytesRead <= 0) throw new InputError(`${file}: ended at byte ${start + at} while reading bytes ${start}–${end} (the file changed or is truncated).`);
        at += bytesRead;
      }
    };
    return {
      size,
      read: async (start, end) => {
        const bytes = new Uint8Array(end - start);
        await fill(start, end, bytes);
        return bytes;
      },
      readInto: (start, end, dest) => fill(start, end, dest),
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.handles.splice(0).map((h) => h.close()));
  }
}

/** A file written from its start, as a ByteSink. */
export async function fileSink(file: string): Promise<ByteSink> {
  const handle = await open(file, 'w');
  return {
    write: async (bytes) => {
      let at = 0;
      while (at < bytes.length) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
    },
    close: () => handle.close(),
  };
}

const CHECKPOINT_FILE = /\.(safetensors|onnx|onnx_data|data)$|\.safetensors\.index\.json$/i;

function majorityDtype(source: TensorSource): string {
  const counts = new Map<string, number>();
  for (const t of floatEntries(source)) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

/**
 * A model argument opened for streaming, or null when it is not safetensors only (ONNX
 * graphs are read whole, by the in-memory path).
 */
export async function openStreamCheckpoint(arg: string, files: OpenFiles): Promise<StreamCheckpoint | null> {
  if (!existsSync(arg)) throw new InputError(`${arg}: no such file or folder.`);
  const folder = statSync(arg).isDirectory() ? arg : /\.safetensors\.index\.json$/i.test(arg) ? path.dirname(arg) : null;
  if (!folder) {
    if (!statSync(arg).isFile()) throw new InputError(`${arg}: not a file.`);
    if (!/\.safetensors$/i.test(arg)) return null;
    const source = await openSafetensorsFile(await files.reader(arg), path.basename(arg));
    return checked({ source, arg, storedDtype: (n) => source.entry(n)?.dtype ?? 'F32' });
  }
  const names = readdirSync(folder).filter((f) => CHECKPOINT_FILE.test(f)).sort();
  if (names.length === 0) throw new InputError(`${folder}: no .safetensors or .onnx files in this folder.`);
  if (names.some((f) => !/\.safetensors$|\.safetensors\.index\.json$/i.test(f))) return null;
  const stem = path.basename(path.resolve(folder));
  const named = (f: string) => `${stem}/${f}`;
  if (names.length === 1) {
    if (!/\.safetensors$/i.test(names[0]!)) return null;
    const source = await openSafetensorsFile(await files.reader(path.join(folder, names[0]!)), named(names[0]!));
    return checked({ source, arg, storedDtype: (n) => source.entry(n)?.dtype ?? 'F32' });
  }
  const indexes = names.filter((f) => /\.safetensors\.index\.json$/i.test(f)).map((f) => ({ name: named(f), bytes: new Uint8Array(readFileSync(path.join(folder, f))) }));
  const shardFiles = names.filter((f) => /\.safetensors$/i.test(f)).map((f) => ({ name: named(f), bytes: new Uint8Array(0) }));
  const { groups, problems } = groupSafetensors(indexes, shardFiles);
  if (problems.length > 0) throw new CheckpointError(problems[0]!.fileName, problems[0]!.message.replace(`${problems[0]!.fileName}: `, ''));
  if (groups.length !== 1) throw new CheckpointError(named(names[0]!), `is one of ${names.length} files that make ${groups.length} checkpoints, not one: give one checkpoint (a folder, an index with its shards, or a file) per argument.`);
  const group = groups[0]!;
  const shards = await Promise.all(group.shards.map(async (s) => ({ key: baseName(s.name), fileName: s.name, reader: await files.reader(path.join(folder, baseName(s.name))) })));
  const source = await openShardedSafetensors(group.name, shards, group.index ? indexShards(group.index).weightMap : null, group.index?.name);
  if (floatEntries(source).length === 0) throw new CheckpointError(group.shards[0]!.name, 'holds no float tensors (F32, F16, BF16 or F64).');
  // The in-memory reader records a sharded checkpoint's most common float dtype for every tensor.
  const dtype = majorityDtype(source);
  return { source, arg, storedDtype: () => dtype };
}

function checked(c: StreamCheckpoint): StreamCheckpoint {
  if (floatEntries(c.source).length === 0) throw new CheckpointError(c.source.name, 'has no floating-point tensors.');
  return c;
}

/** The tensors a merge copies through as stored (not floats), in checkpoint order. */
export function integerEntries(c: StreamCheckpoint) {
  return c.source.tensors.filter((t) => !FLOAT_DTYPES.has(t.dtype));
}
