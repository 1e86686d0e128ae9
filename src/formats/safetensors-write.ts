// safetensors writer: float32 tensors serialized as one file, stored as F32, F16 or BF16.
// The header is written in the tensors' order (not JSON.stringify's), and requests that
// break the format's rules (duplicate or reserved names, shape ≠ values) are refused.
// Pure logic: plain objects in, Uint8Array out; imports ./errors, ./safetensors-format,
// ./safetensors-float and the protocol's dtype choice.
// Assumes a little-endian host (every browser and Node platform we target).

import { SafetensorsFormatError } from './errors';
import { type SafetensorsWriteDtype } from '../protocol/files';
import { METADATA_KEY, SAFETENSORS_DTYPE_SIZE, formatShape, isNonNegativeInt, shapeSize } from './safetensors-format';
import { encodeBFloat16, encodeFloat16 } from './safetensors-float';

export interface SafetensorsWriteTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const WRITER_NAME = 'safetensors writer';

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
