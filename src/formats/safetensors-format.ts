// Facts of the safetensors format that its reader and writer share: the dtypes and their
// sizes, the header cap, the metadata key and how shapes are counted and written in messages.
// Format: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data
// section. The JSON maps tensor names to {dtype, shape, data_offsets: [begin, end]}
// (offsets relative to the data section) plus an optional "__metadata__" string map.
// Constants and pure helpers; imports nothing.

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
export const MAX_HEADER_BYTES = 100_000_000;
export const METADATA_KEY = '__metadata__';

export function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_SIZE, s);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Number of elements of a shape (1 for a 0-d scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
