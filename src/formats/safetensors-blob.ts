// Reads a safetensors file from a Blob (a dropped File) tensor by tensor: the header
// first, then each float tensor's byte range, converted to float32 at once. A multi-GB
// BF16 shard is never held whole in JS memory beside its float32 copy, and a File is
// read from disk as it goes. Same checks as readSafetensors (readSafetensorsLayout).

import { FLOAT_DTYPES, type SafetensorsDtype } from './safetensors-format';
import { readSafetensorsLayout, safetensorsHeaderBytes } from './safetensors-read';
import { tensorToFloat32 } from './safetensors-float';


export interface StreamedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** A safetensors file read from a Blob: its float tensors as float32 (file order), and the names of the others. */
export interface StreamedSafetensors {
  size: number;
  tensors: StreamedTensor[];
  otherTensors: string[];
  metadata: Record<string, string>;
}

async function range(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

export async function readSafetensorsBlob(blob: Blob, fileName: string): Promise<StreamedSafetensors> {
  const first8 = await range(blob, 0, 8);
  const head = await range(blob, 0, safetensorsHeaderBytes(first8));
  const layout = readSafetensorsLayout(head, blob.size, fileName);
  const tensors: StreamedTensor[] = [];
  const otherTensors: string[] = [];
  for (const t of layout.tensors) {
    if (!FLOAT_DTYPES.has(t.dtype)) {
      otherTensors.push(t.name);
      continue;
    }
    const bytes = await range(blob, layout.dataStart + t.begin, layout.dataStart + t.end);
    tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: tensorToFloat32({ name: t.name, dtype: t.dtype, shape: t.shape, data: bytes }) });
  }
  return { size: blob.size, tensors, otherTensors, metadata: layout.metadata };
}
