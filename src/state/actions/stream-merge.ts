/**
 * "Merge to file": the picked or dropped safetensors Files merged tensor by tensor
 * (src/engine/stream-merge.ts) into a file chosen with the File System Access API's
 * showSaveFilePicker where the browser has it, else into Blob parts handed over as a download.
 * Nothing goes through the engine's in-memory population, so checkpoints larger than the
 * WASM heap merge in about N + 2 tensors of memory. Runs on this thread; each tensor's reads
 * are awaited, so the page stays responsive between tensors.
 * Imports the engine's stream merge, the protocol, ../download.
 */
import { blobPartsSink, openBlobCheckpoints, streamFilePlan, streamFileProblem, streamMergeToSink, writableSink, type StreamCheckpoint, type WritableFile } from '../../engine/stream-merge';
import type { StreamProgress } from '../../merge/stream-merge';
import type { NamedBlob } from '../../protocol/files';
import type { MergeParams } from '../../protocol/settings';
import { downloadBlob } from '../download';

export interface OpenedFiles {
  checkpoints: StreamCheckpoint[];
  names: string[];
}

/** The picked files as checkpoints (a folder's shards by their index); throws naming the file at fault. */
export async function openMergeFiles(files: readonly NamedBlob[]): Promise<OpenedFiles> {
  const checkpoints = await openBlobCheckpoints(files);
  if (checkpoints.length === 0) throw new Error('Pick .safetensors checkpoints (a sharded one as its folder, with model.safetensors.index.json).');
  return { checkpoints, names: checkpoints.map((c) => c.source.name) };
}

export interface MergeToFileRequest {
  opened: OpenedFiles;
  base: string | null;
  params: MergeParams;
  dtype: 'F32' | 'F16' | 'BF16' | null;
}

function split(req: MergeToFileRequest): { models: StreamCheckpoint[]; base: StreamCheckpoint | null } {
  const base = req.base === null ? null : (req.opened.checkpoints.find((c) => c.source.name === req.base) ?? null);
  return { models: req.opened.checkpoints.filter((c) => c !== base), base };
}

/** The output's size in bytes and why it cannot run (or null), before anything is written. */
export function describeMergeToFile(req: MergeToFileRequest): { bytes: number; problem: string | null } {
  const { models, base } = split(req);
  if (models.length === 0) return { bytes: 0, problem: 'Pick at least one checkpoint besides the base.' };
  const problem = streamFileProblem({ models, base, params: req.params });
  return { bytes: problem ? 0 : streamFilePlan({ models, base, params: req.params, dtype: req.dtype }).bytes, problem };
}

/** A test setting (localStorage "evolver.streamChunkBytes"): float32 bytes a tensor step may hold before it is cut into row bands. */
function chunkBytes(): number | undefined {
  try {
    const raw = Number(globalThis.localStorage?.getItem('evolver.streamChunkBytes'));
    return Number.isFinite(raw) && raw > 0 ? raw : undefined;
  } catch {
    return undefined;
  }
}

type SavePicker = (options: { suggestedName: string; types?: { description: string; accept: Record<string, string[]> }[] }) => Promise<{ createWritable(): Promise<WritableFile> }>;

/**
 * Runs the merge; returns where it went. A file picked with showSaveFilePicker is written as
 * the merge goes; without the API (or when localStorage "evolver.streamSink" is "blob") the
 * parts become one Blob, downloaded at the end.
 */
export async function mergeToFile(req: MergeToFileRequest, onProgress: (p: StreamProgress) => void, fileName = 'merged.safetensors'): Promise<{ savedTo: 'file' | 'download'; bytes: number; merged: number; tensors: number }> {
  const { models, base } = split(req);
  const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
  const forceBlob = (() => {
    try {
      return globalThis.localStorage?.getItem('evolver.streamSink') === 'blob';
    } catch {
      return false;
    }
  })();
  const job = { models, base, params: req.params, dtype: req.dtype, chunkBytes: chunkBytes(), onProgress };
  const bytes = streamFilePlan(job).bytes;
  if (picker && !forceBlob) {
    const handle = await picker({ suggestedName: fileName, types: [{ description: 'safetensors', accept: { 'application/octet-stream': ['.safetensors'] } }] });
    const summary = await streamMergeToSink(job, writableSink(await handle.createWritable()));
    return { savedTo: 'file', bytes, merged: summary.merged, tensors: summary.tensors };
  }
  const sink = blobPartsSink();
  const summary = await streamMergeToSink(job, sink);
  downloadBlob(sink.blob(), fileName);
  return { savedTo: 'download', bytes, merged: summary.merged, tensors: summary.tensors };
}
