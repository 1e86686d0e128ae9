// A cut-short ONNX file is refused by name, with what to do about it.
import { describe, expect, it } from 'vitest';
import { readOnnx } from './onnx-read';
import { buildModel, matmulAddSpec } from './fixtures/onnx-builder';

describe('readOnnx refusal of a truncated file', () => {
  it('says the file may be cut short and to export or download it again', () => {
    const bytes = buildModel(matmulAddSpec());
    expect(() => readOnnx(bytes.subarray(0, bytes.length - 9), 'model.onnx')).toThrow(
      /^model\.onnx: truncated protobuf at byte \d+.*: the file may be cut short \(an interrupted download or copy\); export or download it again$/,
    );
  });
});
