// ONNX models over 2 GB (and anything saved with save_as_external_data) keep initializer
// bytes in a side file, `model.onnx_data`, that the .onnx names by relative path, offset
// and length. The studio embeds those bytes back as raw_data: ORT sessions are built from
// one buffer, and a checkpoint then holds its weights like any other. Pure module.

import { OnnxFormatError } from './errors';
import { replaceInitializerData } from './onnx-rewrite';
import { type OnnxModel } from './onnx-read';
import { folderOf } from './paths';

/** The side-file paths a model's external initializers point to, relative to where the model is. */
export function externalDataFiles(model: OnnxModel, onnxName: string): string[] {
  const folder = folderOf(onnxName);
  return [...new Set(model.initializers.flatMap((i) => (i.externalData ? [folder + i.externalData.location.replace(/^\.\//, '')] : [])))];
}

/**
 * The model with every external initializer's bytes read from its side file (`files`,
 * keyed by path as dropped) and embedded. Throws naming the model and the missing or
 * too short file.
 */
export function embedExternalData(bytes: Uint8Array, model: OnnxModel, onnxName: string, files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const folder = folderOf(onnxName);
  const data = new Map<string, Uint8Array>();
  for (const init of model.initializers) {
    if (!init.external) continue;
    const ref = init.externalData;
    if (!ref) throw new OnnxFormatError(onnxName, `initializer "${init.name}" is stored externally but names no data file.`);
    const path = folder + ref.location.replace(/^\.\//, '');
    const file = files.get(path);
    if (!file) throw new OnnxFormatError(onnxName, `keeps its weights in ${ref.location}, which is not in this drop: drop the .onnx and its data file together.`);
    const length = ref.length ?? init.byteLength;
    if (length !== init.byteLength) throw new OnnxFormatError(onnxName, `initializer "${init.name}" needs ${init.byteLength} bytes but its external_data length says ${length}.`);
    if (ref.offset + length > file.byteLength) {
      throw new OnnxFormatError(onnxName, `initializer "${init.name}" reads bytes ${ref.offset}–${ref.offset + length} of ${ref.location}, which has only ${file.byteLength}: the data file is truncated or belongs to another export.`);
    }
    data.set(init.name, file.subarray(ref.offset, ref.offset + length));
  }
  return replaceInitializerData(bytes, data, onnxName);
}
