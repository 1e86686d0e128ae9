/**
 * Reads what the UI hands the engine: bytes pass through; a Blob (a dropped File, a stored
 * project's file) is read here, in the worker, so the page never holds it. Safetensors
 * files are read tensor by tensor through Blob slices (safetensors-blob.ts), their tensors
 * that are not floats (I64 position ids, masks: small) kept as stored bytes for the export;
 * the rest whole (an ONNX protobuf is parsed whole; dev sets and tokenizers are small).
 */
import { readSafetensorsBlob, type StreamedSafetensors } from '../formats/safetensors-blob';
import { FLOAT_DTYPES } from '../formats/safetensors-format';
import { readSafetensorsLayout, safetensorsHeaderBytes } from '../formats/safetensors-read';
import { isBlobFile, type NamedBlob, type NamedBytes } from '../protocol/files';
import type { RawTensor } from './graph-mapping';

const EMPTY = new Uint8Array(0);

/** A file as the project reads it: its bytes, or a safetensors file read tensor by tensor from a Blob (then `bytes` is empty). */
export interface InputFile extends NamedBytes {
  streamed?: StreamedSafetensors;
  /** A streamed file's tensors that are not floats, as stored (in file order). */
  streamedRaw?: RawTensor[];
}

async function range(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** The stored bytes of a safetensors Blob's tensors that are not floats. */
async function rawTensorsOf(blob: Blob, fileName: string): Promise<RawTensor[]> {
  const head = await range(blob, 0, safetensorsHeaderBytes(await range(blob, 0, 8)));
  const layout = readSafetensorsLayout(head, blob.size, fileName);
  const raw: RawTensor[] = [];
  for (const t of layout.tensors) {
    if (FLOAT_DTYPES.has(t.dtype)) continue;
    raw.push({ name: t.name, dtype: t.dtype, dims: t.shape, bytes: await range(blob, layout.dataStart + t.begin, layout.dataStart + t.end) });
  }
  return raw;
}

export async function readInputFile(file: NamedBytes | NamedBlob): Promise<InputFile> {
  if (!isBlobFile(file)) return file;
  if (/\.safetensors$/i.test(file.name)) {
    const streamed = await readSafetensorsBlob(file.blob, file.name);
    return { name: file.name, bytes: EMPTY, streamed, ...(streamed.otherTensors.length > 0 ? { streamedRaw: await rawTensorsOf(file.blob, file.name) } : {}) };
  }
  return { name: file.name, bytes: new Uint8Array(await file.blob.arrayBuffer()) };
}
