/**
 * `merge --method …` on safetensors checkpoints, streamed (src/merge/stream-merge.ts): the
 * output's header is written first (every size is known from the inputs' headers), then each
 * tensor as it is merged, in one file or in mergekit's sharded folder; memory holds about
 * N + 2 tensors. The bytes are those of the in-memory path (checkpoints.ts mergedSafetensors,
 * merge-output.ts writeFlagMergeFolder). Progress per tensor and bytes, with an ETA, on stderr.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SafetensorsStreamWriter, planStreamShards, type ByteSink, type ShardPlan, type StreamEntry } from '../src/formats/safetensors-stream-write';
import { floatEntries } from '../src/formats/safetensors-source';
import type { SafetensorsDtype } from '../src/formats/safetensors-format';
import type { MergeMethodDef } from '../src/merge/method';
import { DEFAULT_CHUNK_BYTES, streamMerge, type StreamDtype, type StreamMergeSummary, type TensorMergePool } from '../src/merge/stream-merge';
import type { MergeParams } from '../src/protocol/settings';
import type { SafetensorsWriteDtype } from '../src/protocol/files';
import { UsageError } from './args';
import { fileSink, integerEntries, type StreamCheckpoint } from './file-source';
import { etaLine, Progress } from './io';
import { MergePool } from './merge-pool';
import { flagFolderPlan, folderLine, prepareFolder, writeFolderSidecars, type FolderOutput } from './merge-output';

const WRITABLE = new Set(['F64', 'F32', 'F16', 'BF16']);

export interface StreamMergeJob {
  out: string;
  folder: boolean;
  models: StreamCheckpoint[];
  base: StreamCheckpoint | null;
  method: MergeMethodDef;
  /** The merger as given (streamMerge applies the base-as-model rule itself). */
  params: MergeParams;
  dtypeFlag: SafetensorsWriteDtype | null;
  metadata: Record<string, string>;
  shardSize: string | undefined;
  /** The model arguments as given, and --base (for the folder's YAML and card). */
  modelArgs: readonly string[];
  baseArg: string | null;
  /** Worker threads merging whole tensors (1: this thread only). */
  threads: number;
  /** Whole tensors merged on the GPU instead (--device gpu); the caller closes it. */
  gpuPool?: TensorMergePool;
}

/** Float32 bytes a tensor step may hold before it is cut into row bands (EVOLVER_STREAM_CHUNK_BYTES lowers it for tests). */
export function chunkBudget(): number {
  const raw = process.env.EVOLVER_STREAM_CHUNK_BYTES;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_CHUNK_BYTES;
}

async function runMerge(job: StreamMergeJob, outDtype: (name: string) => StreamDtype, write: (name: string, bytes: Uint8Array) => Promise<void>): Promise<StreamMergeSummary> {
  const progress = new Progress(false, Number(process.env.EVOLVER_PROGRESS_MS ?? 2000));
  const started = Date.now();
  const threadPool = job.threads > 1 && !job.gpuPool ? new MergePool(job.threads) : undefined;
  const pool = job.gpuPool ?? threadPool;
  try {
    const summary = await streamMerge({
      models: job.models.map((m) => m.source),
      base: job.base?.source ?? null,
      method: job.method,
      params: job.params,
      outDtype,
      write,
      // The streamed writer's file sinks are done with the bytes when append settles.
      writeDone: true,
      chunkBytes: chunkBudget(),
      pool,
      onProgress: (p) => {
        const line = etaLine('merging', p.done, p.count, p.bytesRead, p.totalBytes, Date.now() - started);
        progress.update(`${line.text} · ${p.name}`, line.fraction);
      },
    });
    if (summary.merged === 0) throw new UsageError(`the models${job.base ? ' and the base' : ''} have identical weights: nothing to merge or compare.`);
    return summary;
  } finally {
    progress.done();
    await threadPool?.close();
  }
}

/** A streamed output: one file, or mergekit's folder (shards, index, then the sidecar files). */
export interface StreamedOutput<T> {
  out: string;
  /** The folder's plan (dtype, shard size, config and card), or null for one .safetensors file. */
  folder: Omit<FolderOutput, 'tensors' | 'raw'> | null;
  /** The float tensors in order, each with the dtype it is written in. */
  floats: StreamEntry[];
  /** Tensors copied through as stored, after the floats (the last shard's). */
  raw: { entry: StreamEntry; bytes(): Promise<Uint8Array> }[];
  metadata: Record<string, string>;
  /** Hands every float tensor's bytes to write, in order. */
  produce(write: (name: string, bytes: Uint8Array) => Promise<void>): Promise<T>;
}

/**
 * Writes the header(s) first, then what produce hands over, then the stored tensors, as the
 * whole-buffer writers would (merge-output.ts); removes what it wrote when anything fails.
 * Returns produce's result and the report line.
 */
export async function writeStreamedOutput<T>(o: StreamedOutput<T>): Promise<{ result: T; line: string }> {
  const written: string[] = [];
  const sinkAt = (file: string) => async (): Promise<ByteSink> => {
    written.push(file);
    return fileSink(file);
  };
  let plan: { shards: ShardPlan[]; index: { fileName: string; bytes: Uint8Array } | null; meta: Record<string, string> };
  const raw = o.raw.map((r) => r.entry);
  if (o.folder) {
    prepareFolder(o.out);
    const meta = { format: 'pt', ...o.metadata };
    plan = { ...planStreamShards(o.floats, raw, meta, o.folder.shardBytes), meta };
  } else {
    mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    plan = { shards: [{ fileName: o.out, entries: [...o.floats, ...raw] }], index: null, meta: o.metadata };
  }
  const where = (f: string) => (o.folder ? path.join(o.out, f) : f);
  const writer = new SafetensorsStreamWriter(plan.shards.map((s) => ({ entries: s.entries, open: sinkAt(where(s.fileName)) })), plan.meta);
  try {
    const result = await o.produce((n, b) => writer.append(n, b));
    for (const r of o.raw) await writer.append(r.entry.name, await r.bytes());
    await writer.finish();
    if (!o.folder || !plan.index) return { result, line: '' };
    const sink = await sinkAt(where(plan.index.fileName))();
    await sink.write(plan.index.bytes);
    await sink.close();
    const files = writeFolderSidecars(o.out, o.folder, [...plan.shards.map((s) => s.fileName), plan.index.fileName]);
    return { result, line: folderLine(o.out, o.folder.dtype, files) };
  } catch (err) {
    await writer.finish().catch(() => undefined);
    for (const f of written) rmSync(f, { force: true });
    throw err;
  }
}

/** Runs the streamed merge; returns its summary and the report line. */
export async function streamMergeToOutput(job: StreamMergeJob): Promise<{ summary: StreamMergeSummary; line: string }> {
  const first = job.models[0]!;
  const keep = job.base ?? first;
  const floats = floatEntries(first.source);
  if (!job.folder) {
    const dtypeOf = (name: string) => (job.dtypeFlag ?? (WRITABLE.has(first.storedDtype(name)) ? first.storedDtype(name) : 'F32')) as StreamDtype;
    const raw = integerEntries(keep);
    const { result } = await writeStreamedOutput({
      out: job.out,
      folder: null,
      floats: floats.map((t) => ({ name: t.name, dtype: dtypeOf(t.name) as SafetensorsDtype, shape: t.shape })),
      raw: raw.map((t) => ({ entry: { name: t.name, dtype: t.dtype, shape: t.shape }, bytes: () => keep.source.readBytes(t.name) })),
      metadata: job.metadata,
      produce: (write) => runMerge(job, dtypeOf, write),
    });
    const kept = raw.length;
    return { summary: result, line: `wrote ${job.out} (${job.dtypeFlag ?? 'input dtypes'}${kept > 0 ? `, ${kept} integer tensor${kept > 1 ? 's' : ''} copied` : ''}, streamed)` };
  }
  const plan = flagFolderPlan({
    metadata: job.metadata,
    dtype: job.dtypeFlag,
    sourceDtypes: floats.map((t) => first.storedDtype(t.name)),
    shardSize: job.shardSize,
    params: job.params,
    models: job.modelArgs,
    base: job.baseArg,
  });
  const { result, line } = await writeStreamedOutput({
    out: job.out,
    folder: plan,
    floats: floats.map((t) => ({ name: t.name, dtype: plan.dtype, shape: t.shape })),
    raw: plan.raw.map((r) => ({ entry: { name: r.name, dtype: r.dtype as SafetensorsDtype, shape: r.dims }, bytes: async () => r.bytes })),
    metadata: job.metadata,
    produce: (write) => runMerge(job, () => plan.dtype, write),
  });
  return { summary: result, line };
}
