// safetensors reader (no maintained JS library exists): the header parsed and checked, and
// each tensor's bytes located, from a whole file or from its head (safetensors-blob.ts
// then reads a large file tensor by tensor). The reader is strict, like the Rust
// reference: tensors must tile the data section exactly, so a truncated or hand-edited
// file fails here instead of producing garbage weights later.
// Pure logic: Uint8Array in, plain objects out; imports ./errors and ./safetensors-format.

import { SafetensorsFormatError } from './errors';
import {
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SAFETENSORS_DTYPE_SIZE,
  formatShape,
  isDtype,
  isNonNegativeInt,
  type SafetensorsDtype,
} from './safetensors-format';

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** View into the file bytes (not copied, may be unaligned). */
  data: Uint8Array;
}

export interface SafetensorsFile {
  /** In data-section order (the order the writer laid them out). */
  tensors: SafetensorsTensor[];
  metadata: Record<string, string>;
}

/** Header length as a number, or -1 when it does not fit in 2^53 (never plausible). */
function headerLength(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  return hi >= 0x200000 ? -1 : hi * 0x1_0000_0000 + lo;
}

/**
 * Cheap check on the first bytes of a file (a partial head is enough): a plausible
 * header length followed by JSON that opens with '{'.
 */
export function sniffSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 9) return false;
  const n = headerLength(bytes);
  if (n < 2 || n > MAX_HEADER_BYTES) return false;
  // A complete file must hold the whole header; a short head may be a prefix.
  return bytes[8] === 0x7b; // '{'
}

/**
 * Top-level keys of a JSON object text, in order, including duplicates (which
 * JSON.parse silently collapses to the last one). Expects text JSON.parse accepted.
 */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  const n = json.length;
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const d = json.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      const end = i + 1;
      i = end;
      if (depth === 1) {
        let j = i;
        while (j < n && /\s/.test(json[j]!)) j++;
        if (json.charCodeAt(j) === 0x3a /* : */) keys.push(JSON.parse(json.slice(start, end)) as string);
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    i++;
  }
  return keys;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface PendingTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Where each tensor lies in a safetensors file: what the header says, checked against the file's length. */
export interface SafetensorsLayout {
  /** Byte offset of the data section (8 + header length). */
  dataStart: number;
  /** In data-section order; begin/end are relative to dataStart. */
  tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[];
  metadata: Record<string, string>;
}

/** Bytes to read from the start of a file to parse its header: 8, then 8 + the length they give. */
export function safetensorsHeaderBytes(first8: Uint8Array): number {
  return first8.length < 8 ? 8 : 8 + Math.max(0, Math.min(headerLength(first8), MAX_HEADER_BYTES));
}

/**
 * Parse a complete safetensors file. Tensor data are views into `bytes` (no copy).
 * Throws SafetensorsFormatError naming `fileName` on any deviation from the format.
 */
export function readSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  const { dataStart, tensors, metadata } = readSafetensorsLayout(bytes, bytes.length, fileName);
  return { tensors: tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: bytes.subarray(dataStart + t.begin, dataStart + t.end) })), metadata };
}

/**
 * Parse the header of a safetensors file of `fileLength` bytes from its first bytes (`head`,
 * at least the header: safetensorsHeaderBytes says how many), with every check of the
 * format, so a large file can be read tensor by tensor (safetensors-blob.ts).
 */
export function readSafetensorsLayout(head: Uint8Array, fileLength: number, fileName: string): SafetensorsLayout {
  const fail = (detail: string): never => {
    throw new SafetensorsFormatError(fileName, detail);
  };
  if (fileLength < 8) fail(`file is ${fileLength} bytes, too short for the 8-byte header length`);
  const n = headerLength(head);
  if (n < 0 || n > MAX_HEADER_BYTES) fail(`header length ${n < 0 ? '≥ 2^53' : n} bytes exceeds the 100 MB limit`);
  if (n > fileLength - 8) {
    fail(`header length ${n} bytes exceeds the file (${fileLength} bytes): the file is truncated or not safetensors`);
  }
  if (n < 2) fail(`header length ${n} bytes is too short for a JSON object`);
  if (head.length < 8 + n) fail(`only ${head.length} bytes of the ${8 + n}-byte header were read`);
  const bytes = head;

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail('header JSON is not an object');
  const json = header as Record<string, unknown>;

  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) fail(`header names "${key}" more than once`);
    seen.add(key);
  }

  const metadata: Record<string, string> = {};
  const rawMeta = json[METADATA_KEY];
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isPlainObject(rawMeta)) fail(`"${METADATA_KEY}" is not an object of strings`);
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`"${METADATA_KEY}" entry "${k}" is not a string`);
      metadata[k] = v as string;
    }
  }

  const dataStart = 8 + n;
  const dataLength = fileLength - dataStart;
  const pending: PendingTensor[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === METADATA_KEY) continue;
    if (!isPlainObject(entry)) fail(`tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
      fail(`tensor "${name}" shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt)) {
      fail(`tensor "${name}" data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const dt = dtype as SafetensorsDtype;
    const dims = shape as number[];
    // Accumulating past 2^53 stays above any real length, so the comparison still fails.
    let expected = SAFETENSORS_DTYPE_SIZE[dt];
    for (const d of dims) expected *= d;
    if (end < begin || end - begin !== expected) {
      fail(
        `tensor "${name}" data_offsets [${begin}, ${end}] do not match dtype ${dt} × shape ${formatShape(dims)} (${expected} bytes)`,
      );
    }
    pending.push({ name, dtype: dt, shape: dims, begin, end });
  }

  // Sorting by offset (stable: empty tensors keep header order) checks tiling in one pass.
  pending.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const t of pending) {
    if (t.begin > cursor) {
      fail(
        `gap in data section: bytes [${cursor}, ${t.begin}) before tensor "${t.name}" belong to no tensor`,
      );
    }
    if (t.begin < cursor) {
      fail(`tensor "${t.name}" data_offsets [${t.begin}, ${t.end}] overlap tensor "${previous}" (ends at ${cursor})`);
    }
    cursor = t.end;
    previous = t.name;
  }
  if (cursor !== dataLength) {
    fail(
      cursor > dataLength
        ? `data section is ${dataLength} bytes but tensors need ${cursor}: the file is truncated`
        : `data section is ${dataLength} bytes but tensors cover only ${cursor}: ${dataLength - cursor} trailing bytes`,
    );
  }

  return { dataStart, tensors: pending, metadata };
}
