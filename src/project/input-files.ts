/**
 * Reads what the UI hands the engine: bytes pass through; a Blob (a dropped File, a stored
 * project's file) is read here, in the worker, so the page never holds it. Safetensors
 * files are read tensor by tensor through Blob slices (safetensors-blob.ts); the rest
 * whole (an ONNX protobuf is parsed whole; dev sets and tokenizers are small).
 */
import { readSafetensorsBlob, type StreamedSafetensors } from '../formats/safetensors-blob';
import { isBlobFile, type NamedBlob, type NamedBytes } from '../protocol/files';

const EMPTY = new Uint8Array(0);

/** A file as the project reads it: its bytes, or a safetensors file read tensor by tensor from a Blob (then `bytes` is empty). */
export interface InputFile extends NamedBytes {
  streamed?: StreamedSafetensors;
}

export async function readInputFile(file: NamedBytes | NamedBlob): Promise<InputFile> {
  if (!isBlobFile(file)) return file;
  if (/\.safetensors$/i.test(file.name)) return { name: file.name, bytes: EMPTY, streamed: await readSafetensorsBlob(file.blob, file.name) };
  return { name: file.name, bytes: new Uint8Array(await file.blob.arrayBuffer()) };
}
