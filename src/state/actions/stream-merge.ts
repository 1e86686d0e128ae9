/**
 * "Merge to file": the picked or dropped safetensors Files merged tensor by tensor
 * (src/engine/stream-merge.ts) into a file chosen with the File System Access API's
 * showSaveFilePicker where the browser has it, else into Blob parts handed over as a download.
 * Nothing goes through the engine's in-memory population, so checkpoints larger than the
 * WASM heap merge in about N + 2 tensors of memory. The merge runs in its own worker
 * (stream-merge-worker.ts), so the page stays responsive; this thread keeps what needs the
 * page: the save picker (it needs the user's click), the test settings in localStorage, the
 * plan said before the merge, and the download.
 * Imports the engine's stream merge (its checks and plan, here), the protocol, ../download and the worker.
 */
import { proxy } from 'comlink';
import { openBlobCheckpoints, streamFilePlan, streamFileProblem, type StreamCheckpoint } from '../../engine/stream-merge';
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
import { inStreamMergeWorker } from './stream-merge-worker';
import { mergePoolSize, type SaveTarget } from './stream-merge-worker-api';

export interface OpenedFiles {
  /** The files as picked: what the worker opens again (opened checkpoints hold readers that do not clone). */
  files: NamedBlob[];
  checkpoints: StreamCheckpoint[];
  names: string[];
}

/** The picked files as checkpoints (a folder's shards by their index); throws naming the file at fault. */
export async function openMergeFiles(files: readonly NamedBlob[]): Promise<OpenedFiles> {
  const checkpoints = await openBlobCheckpoints(files);
  if (checkpoints.length === 0) throw new Error('Pick .safetensors checkpoints (a sharded one as its folder, with model.safetensors.index.json).');
  return { files: [...files], checkpoints, names: checkpoints.map((c) => c.source.name) };
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
   * step is read while one merges); for a method that takes tensors whole, once more for each
   * nested worker past the first (each merges a tensor of its own).
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
  // Row bands: the one being merged and the next being read; else the one read plus the pool's.
  const inFlight = 1 + Math.max(1, mergePoolSize(method.id, globalThis.navigator?.hardwareConcurrency));
  const memory = { inMemoryBytes: populationBytes(parameters, models.length), heapLimit: heapLimit(), streamedBytes: inFlight * largestStep };
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

type SavePicker = (options: { suggestedName: string; types?: { description: string; accept: Record<string, string[]> }[] }) => Promise<SaveTarget>;

/**
 * Runs the merge in its worker; returns where it went. A file picked here with
 * showSaveFilePicker is written by the worker as the merge goes; without the API (or when
 * localStorage "evolver.streamSink" is "blob") the worker's parts come back as one Blob,
 * downloaded at the end. The worker's errors come back as thrown (message and name).
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
  const bytes = streamFilePlan({ models, base, params: req.params, dtype: req.dtype }).bytes;
  const target = picker && !forceBlob ? await picker({ suggestedName: fileName, types: [{ description: 'safetensors', accept: { 'application/octet-stream': ['.safetensors'] } }] }) : null;
  const job = { files: req.opened.files, base: req.base, params: req.params, dtype: req.dtype, chunkBytes: chunkBytes(), target };
  const outcome = await inStreamMergeWorker((worker) => worker.merge(job, proxy(onProgress)));
  if (outcome.blob) downloadBlob(outcome.blob, fileName);
  return { savedTo: outcome.blob ? 'download' : 'file', bytes, merged: outcome.merged, tensors: outcome.tensors };
}
