/**
 * What the page and the stream-merge worker (workers/stream-merge.worker.ts) say to each other
 * through comlink: everything here is structured-cloneable (Files are Blobs, a picked
 * FileSystemFileHandle clones to the worker, the Blob result clones back by reference).
 * Types and the pool's size only, so the worker's bundle takes nothing from the page's state.
 * Imports the protocol and the merge's progress type.
 */
import { ELEMENTWISE_METHODS } from '../../merge/stream-chunks';
import type { StreamProgress } from '../../merge/stream-merge';
import type { NamedBlob } from '../../protocol/files';
import type { MergeParams } from '../../protocol/settings';

/** The least of a FileSystemFileHandle's writable the worker writes into. */
export interface WritableFile {
  write(data: BufferSource): Promise<void>;
  close(): Promise<void>;
}

/** A file picked with showSaveFilePicker on the page (the picker needs the user's click). */
export interface SaveTarget {
  createWritable(): Promise<WritableFile>;
}

export interface StreamMergeJobParams {
  /** The picked files as picked; the worker opens them again (a folder's shards by their index). */
  files: NamedBlob[];
  /** The base checkpoint's name (as openMergeFiles names it), or null. */
  base: string | null;
  params: MergeParams;
  dtype: 'F32' | 'F16' | 'BF16' | null;
  chunkBytes?: number;
  /** Written as the merge goes; null: the worker keeps Blob parts and returns them as one Blob. */
  target: SaveTarget | null;
}

export interface StreamMergeOutcome {
  /** The merged file when there was no target, else null. */
  blob: Blob | null;
  merged: number;
  tensors: number;
}

export interface StreamMergeWorkerApi {
  /** Runs the whole merge in the worker; onProgress hears about finished tensors (throttled; the last always). */
  merge(job: StreamMergeJobParams, onProgress: (p: StreamProgress) => void): Promise<StreamMergeOutcome>;
}

/**
 * Nested workers the stream-merge worker merges whole tensors on, for a machine of `cores`
 * logical cores: one core left for reading and writing, 1 to 4 workers (each holds a tensor set).
 */
export function tensorPoolSize(cores: number | undefined): number {
  return Math.max(1, Math.min(4, (cores ?? 2) - 1));
}

/**
 * The nested workers a merge by `methodId` uses: none for the elementwise methods (they merge
 * in row bands in the stream-merge worker itself), else tensorPoolSize's.
 */
export function mergePoolSize(methodId: string, cores: number | undefined): number {
  return ELEMENTWISE_METHODS.has(methodId) ? 0 : tensorPoolSize(cores);
}
