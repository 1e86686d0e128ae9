/**
 * "Merge to file" without the in-memory population: dropped safetensors Files (Blobs) are read
 * tensor by tensor through Blob slices, merged by src/merge/stream-merge.ts and written as
 * they go to a ByteSink: a File System Access writable where the browser has one, else Blob
 * parts assembled into one Blob at the end (which the browser may keep on disk). Memory holds
 * about N + 2 tensors whatever the checkpoints' size. The file is the CLI's streamed merge's,
 * byte for byte (the same recipe, metadata, dtypes and integer tensors copied from the base).
 * Pure: Blobs in, bytes out; no DOM.
 */
import { exportMetadata } from '../export/export-metadata';
import { FileError } from '../formats/errors';
import { baseName } from '../formats/paths';
import { FLOAT_DTYPES, type SafetensorsDtype } from '../formats/safetensors-format';
import { blobReader, floatEntries, openSafetensorsFile, openShardedSafetensors, type TensorSource } from '../formats/safetensors-source';
import { SafetensorsStreamWriter, entryBytes, safetensorsHeader, type ByteSink, type StreamEntry } from '../formats/safetensors-stream-write';
import { describeMerge, methodProblem } from '../merge/params';
import { baseAsModel } from '../merge/base-as-model';
import { methodFor } from '../merge/registry';
import { streamMerge, type StreamDtype, type StreamMergeSummary, type StreamProgress, type TensorMergePool } from '../merge/stream-merge';
import { groupSafetensors, indexShards } from '../project/safetensors-checkpoints';
import { checkSameTensors, type TensorCheckpoint } from '../project/tensor-sets';
import type { NamedBlob } from '../protocol/files';
import { DEFAULT_SETTINGS, type MergeParams } from '../protocol/settings';

/** A checkpoint opened for streaming, with the dtype the in-memory reader records per tensor. */
export interface StreamCheckpoint {
  source: TensorSource;
  storedDtype(name: string): string;
}

const WRITABLE = new Set(['F64', 'F32', 'F16', 'BF16']);

function majorityDtype(source: TensorSource): string {
  const counts = new Map<string, number>();
  for (const t of floatEntries(source)) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
}

/** Dropped files as checkpoints: sharded ones by their index, every other .safetensors file on its own. */
export async function openBlobCheckpoints(files: readonly NamedBlob[]): Promise<StreamCheckpoint[]> {
  const indexes = await Promise.all(files.filter((f) => /\.safetensors\.index\.json$/i.test(f.name)).map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) })));
  const shardFiles = files.filter((f) => /\.safetensors$/i.test(f.name));
  const byName = new Map(shardFiles.map((f) => [f.name, f.blob]));
  const { groups, problems } = groupSafetensors(indexes, shardFiles.map((f) => ({ name: f.name, bytes: new Uint8Array(0) })));
  if (problems.length > 0) throw new FileError(problems[0]!.fileName, problems[0]!.message.replace(`${problems[0]!.fileName}: `, ''));
  const out: StreamCheckpoint[] = [];
  for (const group of groups) {
    if (!group.index) {
      const file = group.shards[0]!;
      const source = await openSafetensorsFile(blobReader(byName.get(file.name)!), file.name, group.name);
      out.push({ source, storedDtype: (n) => source.entry(n)?.dtype ?? 'F32' });
    } else {
      const shards = group.shards.map((s) => ({ key: baseName(s.name), fileName: s.name, reader: blobReader(byName.get(s.name)!) }));
      const source = await openShardedSafetensors(group.name, shards, indexShards(group.index).weightMap, group.index.name);
      const dtype = majorityDtype(source);
      out.push({ source, storedDtype: () => dtype });
    }
    if (floatEntries(out[out.length - 1]!.source).length === 0) throw new FileError(group.shards[0]!.name, 'has no floating-point tensors.');
  }
  return out;
}

/** Throws naming the first checkpoint whose float tensors (names, shapes) differ from the first's. */
export function checkSameSourceTensors(sources: readonly TensorSource[]): void {
  const empty = new Float32Array(0);
  const shapesOnly = (s: TensorSource): TensorCheckpoint => ({ name: s.name, format: 'safetensors', tensors: floatEntries(s).map((t) => ({ name: t.name, dims: t.shape, data: empty })), dtypes: new Map(), skipped: [], model: null, metadata: {} });
  checkSameTensors(sources.map(shapesOnly));
}

/** The one-shot merge's recipe and metadata (the studio's strategy "merge"; no scores). */
export function streamMergeMetadata(params: MergeParams, sources: readonly string[], base: string | null, path: 'wasm' | 'webgpu' = 'wasm'): Record<string, string> {
  const recipe = { ...DEFAULT_SETTINGS, merger: params, strategy: 'merge', base, sources };
  // compute_path: "wasm" is the CPU path's name, "webgpu" where whole tensors merged on the GPU.
  return exportMetadata({ recipe, merger: describeMerge(params), sources, path, extra: { seed: String(DEFAULT_SETTINGS.seed) } });
}

export interface StreamFileRequest {
  models: readonly StreamCheckpoint[];
  base: StreamCheckpoint | null;
  params: MergeParams;
  /** Output dtype; null: each tensor's input dtype (as mergekit). */
  dtype: 'F32' | 'F16' | 'BF16' | null;
  chunkBytes?: number;
  onProgress?(p: StreamProgress): void;
  /** Merges whole tensors on other threads (the studio's nested workers); absent: this thread. */
  pool?: TensorMergePool;
}

/** The file's tensors in order (floats in the output dtypes, then the base's integer tensors) and metadata. */
export function streamFilePlan(req: StreamFileRequest): { entries: StreamEntry[]; raw: StreamEntry[]; floatDtype: (name: string) => StreamDtype; metadata: Record<string, string>; bytes: number } {
  const first = req.models[0]!;
  const keep = req.base ?? first;
  const floatDtype = (name: string) => (req.dtype ?? (WRITABLE.has(first.storedDtype(name)) ? first.storedDtype(name) : 'F32')) as StreamDtype;
  const floats = floatEntries(first.source).map((t) => ({ name: t.name, dtype: floatDtype(t.name) as SafetensorsDtype, shape: t.shape }));
  const raw = keep.source.tensors.filter((t) => !FLOAT_DTYPES.has(t.dtype)).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  const entries = [...floats, ...raw];
  const metadata = streamMergeMetadata(req.params, req.models.map((m) => m.source.name), req.base?.source.name ?? null);
  return { entries, raw, floatDtype, metadata, bytes: safetensorsHeader(entries, metadata).length + entries.reduce((n, e) => n + entryBytes(e), 0) };
}

/** Why this merge cannot run (the CLI's and the studio's checks), or null. */
export function streamFileProblem(req: Pick<StreamFileRequest, 'models' | 'base' | 'params'>): string | null {
  const method = methodFor(req.params.method);
  if (method.needs.devData) return `${method.label} needs dev data; merge to file takes the weight-only methods.`;
  const merging = baseAsModel(req.models, req.base, method, req.params);
  return methodProblem(merging.params, merging.models.length, merging.base !== null);
}

/** Runs the merge into `sink` (header first, then tensor by tensor); the sink is closed at the end. */
export async function streamMergeToSink(req: StreamFileRequest, sink: ByteSink): Promise<StreamMergeSummary> {
  const problem = streamFileProblem(req);
  if (problem) throw new Error(problem);
  checkSameSourceTensors([...req.models, ...(req.base ? [req.base] : [])].map((c) => c.source));
  const plan = streamFilePlan(req);
  const writer = new SafetensorsStreamWriter([{ entries: plan.entries, open: () => sink }], plan.metadata);
  const keep = req.base ?? req.models[0]!;
  const summary = await streamMerge({
    models: req.models.map((m) => m.source),
    base: req.base?.source ?? null,
    method: methodFor(req.params.method),
    params: req.params,
    outDtype: plan.floatDtype,
    write: (n, b) => writer.append(n, b),
    chunkBytes: req.chunkBytes,
    onProgress: req.onProgress,
    pool: req.pool,
  });
  if (summary.merged === 0) throw new Error(`the checkpoints${req.base ? ' and the base' : ''} have identical weights: nothing to merge.`);
  for (const e of plan.raw) await writer.append(e.name, await keep.source.readBytes(e.name));
  await writer.finish();
  return summary;
}

/** A sink that keeps the bytes as Blob parts (each copied once, then dropped from JS memory by the browser's Blob store). */
export function blobPartsSink(type = 'application/octet-stream'): ByteSink & { blob(): Blob } {
  const parts: Blob[] = [];
  let result: Blob | null = null;
  return {
    write: (bytes) => {
      parts.push(new Blob([bytes.slice().buffer as ArrayBuffer]));
    },
    close: () => {
      result = new Blob(parts, { type });
      parts.length = 0;
    },
    blob: () => {
      if (!result) throw new Error('stream-merge.ts: the Blob sink is not closed yet.');
      return result;
    },
  };
}

/** The least of a File System Access writable this sink needs. */
export interface WritableFile {
  write(data: BufferSource): Promise<void>;
  close(): Promise<void>;
}

export function writableSink(file: WritableFile): ByteSink {
  return { write: (bytes) => file.write(bytes as Uint8Array<ArrayBuffer>), close: () => file.close() };
}
