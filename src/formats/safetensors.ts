// safetensors reader and writer (no maintained JS library exists).
// Format: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data
// section. The JSON maps tensor names to {dtype, shape, data_offsets: [begin, end]}
// (offsets relative to the data section) plus an optional "__metadata__" string map.
// The reader is strict, like the Rust reference: tensors must tile the data section
// exactly, so a truncated or hand-edited file fails here instead of producing garbage
// weights later. Pure logic: Uint8Array in, plain objects out; imports only ./errors.
// Assumes a little-endian host (every browser and Node platform we target).

import { SafetensorsFormatError } from './errors';
import { type SafetensorsWriteDtype } from '../protocol/files';

export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64'
  | 'F8_E4M3'
  | 'F8_E5M2';

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

export interface SafetensorsWriteTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** The dtypes that hold real numbers: what a checkpoint's weights are read from (tensorToFloat32). */
export const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F64', 'F32', 'F16', 'BF16']);

/** Bytes per element. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

// The Rust reference implementation and netron both cap the header at 100 MB.
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const WRITER_NAME = 'safetensors writer';

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_SIZE, s);
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

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
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

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
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

/** Number of elements of a shape (1 for a 0-d scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Typed-array view of `data` when aligned, else of an aligned copy. */
function aligned<T>(data: Uint8Array, size: number, make: (buf: ArrayBufferLike, off: number, len: number) => T): T {
  const count = data.byteLength / size;
  if (data.byteOffset % size === 0) return make(data.buffer, data.byteOffset, count);
  return make(data.slice().buffer, 0, count);
}

let f16Table: Float32Array | null = null;

/** All 65536 half-precision values, built once (256 KB) so decoding is a lookup. */
function float16Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) table[h] = sign * m * 2 ** -24;
    else if (e === 31) bits[h] = ((h & 0x8000) << 16) | 0x7f800000 | (m << 13); // inf, NaN payload kept
    else table[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  f16Table = table;
  return table;
}

/** float8 e4m3 "fn" (torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN. */
function decodeF8E4M3(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 0xf;
  const m = b & 7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (1 + m / 8) * 2 ** (e - 7);
}

/**
 * Convert any supported dtype to a fresh Float32Array (never a view of the file, so
 * callers may keep or mutate it). Integers beyond 2^24 round to the nearest float32.
 */
export function tensorToFloat32(t: SafetensorsTensor): Float32Array {
  const d = t.data;
  const n = d.byteLength / SAFETENSORS_DTYPE_SIZE[t.dtype];
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      new Uint8Array(out.buffer).set(d);
      return out;
    case 'F16': {
      const table = float16Table();
      const src = aligned(d, 2, (b, o, l) => new Uint16Array(b, o, l));
      for (let i = 0; i < n; i++) out[i] = table[src[i]!]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32.
      const src = aligned(d, 2, (b, o, l) => new Uint16Array(b, o, l));
      const dst = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
      return out;
    }
    case 'F64':
      out.set(aligned(d, 8, (b, o, l) => new Float64Array(b, o, l)));
      return out;
    case 'F8_E4M3':
      for (let i = 0; i < n; i++) out[i] = decodeF8E4M3(d[i]!);
      return out;
    case 'F8_E5M2': {
      // e5m2 is the upper byte of a float16.
      const table = float16Table();
      for (let i = 0; i < n; i++) out[i] = table[d[i]! << 8]!;
      return out;
    }
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = d[i] ? 1 : 0;
      return out;
    case 'U8':
      out.set(d);
      return out;
    case 'I8':
      out.set(new Int8Array(d.buffer, d.byteOffset, n));
      return out;
    case 'I16':
      out.set(aligned(d, 2, (b, o, l) => new Int16Array(b, o, l)));
      return out;
    case 'U16':
      out.set(aligned(d, 2, (b, o, l) => new Uint16Array(b, o, l)));
      return out;
    case 'I32':
      out.set(aligned(d, 4, (b, o, l) => new Int32Array(b, o, l)));
      return out;
    case 'U32':
      out.set(aligned(d, 4, (b, o, l) => new Uint32Array(b, o, l)));
      return out;
    case 'I64':
    case 'U64': {
      // hi·2^32 + lo in float64 is exact below 2^53, avoiding a BigInt per element.
      const words = aligned(d, 4, (b, o, l) => new Uint32Array(b, o, l));
      const signed = t.dtype === 'I64';
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i]!;
        const hi = words[2 * i + 1]!;
        out[i] = (signed ? hi | 0 : hi) * 0x1_0000_0000 + lo;
      }
      return out;
    }
  }
}

/** float32 → float16 bits, round to nearest even; overflow → ±inf, NaN stays NaN. */
export function encodeFloat16(values: Float32Array): Uint16Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 112; // rebias 127 → 15
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e >= 1) {
      // A rounding carry out of the mantissa correctly bumps the exponent (up to inf).
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    } else {
      // Half subnormal: value = m · 2^-24 with m = full mantissa >> (14 - e).
      const shift = 14 - e;
      if (shift > 24) {
        out[i] = sign;
      } else {
        const full = mant | 0x800000;
        let m = full >>> shift;
        const rem = full & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rem > half || (rem === half && m & 1)) m++;
        out[i] = sign | m;
      }
    }
  }
  return out;
}

/** float32 → bfloat16 bits, round to nearest even; NaN stays (quiet) NaN. */
export function encodeBFloat16(values: Float32Array): Uint16Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) {
      out[i] = (x >>> 16) | 0x40;
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}

/**
 * Serialize tensors (contiguous, in the given order) as one safetensors file.
 * The header is padded with spaces so the data section starts 8-byte aligned, which
 * lets readers view F32/F16 data in place.
 */
export function writeSafetensors(
  tensors: readonly SafetensorsWriteTensor[],
  metadata?: Record<string, string>,
  dtype: SafetensorsWriteDtype = 'F32',
): Uint8Array {
  const fail = (detail: string): never => {
    throw new SafetensorsFormatError(WRITER_NAME, detail);
  };
  const size = SAFETENSORS_DTYPE_SIZE[dtype];
  const names = new Set<string>();
  // Built by hand: JSON.stringify of an object would move integer-like names first.
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`metadata "${k}" is not a string`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY) fail(`tensor name "${METADATA_KEY}" is reserved`);
    if (names.has(t.name)) fail(`tensor "${t.name}" appears more than once`);
    names.add(t.name);
    if (!t.shape.every(isNonNegativeInt)) fail(`tensor "${t.name}" shape ${JSON.stringify(t.shape)} is invalid`);
    if (shapeSize(t.shape) !== t.data.length) {
      fail(`tensor "${t.name}" has ${t.data.length} values but shape ${formatShape(t.shape)} needs ${shapeSize(t.shape)}`);
    }
    const end = offset + t.data.length * size;
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${dtype}","shape":${formatShape(t.shape)},"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const headerText = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil((8 + headerText.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(headerLen / 0x1_0000_0000), true);
  out.set(headerText, 8);
  out.fill(0x20, 8 + headerText.length, 8 + headerLen);

  let pos = 8 + headerLen;
  for (const t of tensors) {
    const encoded =
      dtype === 'F32' ? t.data : dtype === 'F16' ? encodeFloat16(t.data) : encodeBFloat16(t.data);
    out.set(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength), pos);
    pos += encoded.byteLength;
  }
  return out;
}
