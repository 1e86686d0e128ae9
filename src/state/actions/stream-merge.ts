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
import { DEFAULT_CHUNK_BYTES, type StreamProgress } from '../../merge/stream-merge';
import { chunksAlongRows } from '../../merge/stream-chunks';
import { methodFor } from '../../merge/registry';
import { rowLength } from '../../formats/safetensors-source';
import { floatEntries } from '../../formats/safetensors-source';
import { shapeSize } from '../../formats/safetensors-format';
import { populationBytes, WASM_HEAP_LIMIT } from '../../population/memory-plan';
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

/** What the merge holds: in memory (the studio's Merge once) against the WASM heap, and streamed to a file. */
export interface MergeMemory {
  /** Float32 copies the in-memory path holds: every model, the base and the merge (memory-plan.ts). */
  inMemoryBytes: number;
  /** The most one WebAssembly memory (the CPU population's) holds. */
  heapLimit: number;
  /**
   * About the most the streamed merge holds at once, in float32: the largest step (a tensor, or a
   * band of rows of one for an elementwise method) of every input and the output, twice (the next
   * step is read while one merges).
   */
  streamedBytes: number;
}

/** The output's size in bytes, what the merge holds, and why it cannot run (or null), before anything is written. */
export function describeMergeToFile(req: MergeToFileRequest): { bytes: number; problem: string | null; memory: MergeMemory | null } {
  const { models, base } = split(req);
  if (models.length === 0) return { bytes: 0, problem: 'Pick at least one checkpoint besides the base.', memory: null };
  const problem = streamFileProblem({ models, base, params: req.params });
  if (problem) return { bytes: 0, problem, memory: null };
  const floats = floatEntries(models[0]!.source);
  const parameters = floats.reduce((n, t) => n + shapeSize(t.shape), 0);
  const streams = models.length + (base ? 1 : 0) + 1;
  const method = methodFor(req.params.method);
  const budget = chunkBytes() ?? DEFAULT_CHUNK_BYTES;
  const stepBytes = (shape: readonly number[]) => {
    const bands = chunksAlongRows(method, shape, streams, budget);
    const rows = bands ? Math.max(...bands.map(([a, b]) => b - a)) : (shape[0] ?? 1);
    return 4 * rows * (shape.length > 0 ? rowLength(shape) : 1) * streams;
  };
  const largestStep = Math.max(0, ...floats.map((t) => stepBytes(t.shape)));
  const memory = { inMemoryBytes: populationBytes(parameters, models.length), heapLimit: heapLimit(), streamedBytes: 2 * largestStep };
  return { bytes: streamFilePlan({ models, base, params: req.params, dtype: req.dtype }).bytes, problem: null, memory };
}

/** The WASM heap limit; a test setting (localStorage "evolver.wasmHeapBytes") lowers it so a small set stands for a large one. */
function heapLimit(): number {
  try {
    const raw = Number(globalThis.localStorage?.getItem('evolver.wasmHeapBytes'));
    return Number.isFinite(raw) && raw > 0 ? raw : WASM_HEAP_LIMIT;
  } catch {
    return WASM_HEAP_LIMIT;
  }
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
