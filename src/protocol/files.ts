/**
 * Files crossing the worker boundary: what the UI hands the engine and what exports return.
 */
export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
}

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** A file the UI hands over unread (a dropped File): the engine reads it in slices where it can. */
export interface NamedBlob {
  name: string;
  blob: Blob;
}

export function isBlobFile(file: NamedBytes | NamedBlob): file is NamedBlob {
  return 'blob' in file;
}

export type ExportKind = 'safetensors' | 'onnx' | 'recipe' | 'model-card' | 'zip';

/**
 * What the studio's export panel offers: the engine's kinds, plus the recipe as a mergekit YAML
 * config ('mergekit-yaml', written on the page from the engine's recipe: src/export/recipe.ts).
 */
export type StudioExportKind = ExportKind | 'mergekit-yaml';

export interface ExportOptions {
  kind: ExportKind;
  dtype: SafetensorsWriteDtype;
  /** Largest shard in bytes; 0 writes one file. */
  shardBytes: number;
  /** Safetensors inputs: their own tensor names ("source") or the ONNX graph's initializer names. */
  names: 'source' | 'graph';
  /** The base model's id on the Hub ("owner/name") for the model card's base_model; absent: from the base's config.json, else none. */
  baseModelId?: string;
}

export const DEFAULT_EXPORT: ExportOptions = { kind: 'safetensors', dtype: 'F32', shardBytes: 0, names: 'source' };

/** Dtypes writeSafetensors can produce from Float32Array input. */
export type SafetensorsWriteDtype = 'F32' | 'F16' | 'BF16';
