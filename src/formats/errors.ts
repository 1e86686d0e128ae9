// Named errors for the format readers and writers in src/formats/.
// Messages always start with the file name so the UI can show them as they are; the
// UI and comlink (which rebuilds thrown errors as plain Error) check `err.name`.

/**
 * A problem with a user's file: the message is "<file>: <detail>". Subclasses spell their
 * name out (a minifier renames classes, and the UI checks err.name).
 */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    readonly fileName: string,
    detail: string,
  ) {
    super(`${fileName}: ${detail}`);
  }
}

/** A safetensors file (or a request to write one) breaks the format's rules. */
export class SafetensorsFormatError extends FileError {
  override name = 'SafetensorsFormatError';
}

/** An ONNX model that cannot be parsed, or a request that does not fit the model. */
export class OnnxFormatError extends FileError {
  override name = 'OnnxFormatError';
}

/**
 * Malformed protobuf wire data. Thrown by onnx-wire.ts, which does not know the file
 * name; onnx-read.ts (withFile) turns it into an OnnxFormatError.
 */
export class ProtobufWireError extends Error {
  /** Byte offset in the buffer where the problem was found. */
  readonly offset: number;
  constructor(detail: string, offset: number) {
    super(detail);
    this.name = 'ProtobufWireError';
    this.offset = offset;
  }
}

/** `"a", "b", "c"` — or the first `max` names and how many more — for messages that list tensors. */
export function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
