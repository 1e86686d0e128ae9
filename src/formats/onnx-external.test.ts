import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedExternalData, externalDataFiles } from './onnx-external';
import { readOnnx } from './onnx-read';

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const load = (name: string) => new Uint8Array(readFileSync(path.join(FIXTURES, name)));

describe('ONNX external data (onnx.save_model with save_as_external_data)', () => {
  const bytes = load('tiny-external.onnx');
  const model = readOnnx(bytes, 'dir/tiny-external.onnx');
  const data = load('tiny-external.onnx.data');

  it('names the side file relative to the model', () => {
    expect(externalDataFiles(model, 'dir/tiny-external.onnx')).toEqual(['dir/tiny-external.onnx.data']);
    expect(model.initializers.every((i) => i.external && i.externalData !== null)).toBe(true);
  });

  it('embeds the side file so the model reads like the one saved with its weights inside', () => {
    const embedded = readOnnx(embedExternalData(bytes, model, 'dir/tiny-external.onnx', new Map([['dir/tiny-external.onnx.data', data]])), 'x.onnx');
    const inline = readOnnx(load('tiny-classifier.onnx'), 'tiny-classifier.onnx');
    expect(embedded.initializers.map((i) => i.name)).toEqual(inline.initializers.map((i) => i.name));
    for (const [i, init] of embedded.initializers.entries()) {
      expect(init.external).toBe(false);
      expect(init.dims).toEqual(inline.initializers[i]!.dims);
      if (init.floats) expect(Array.from(init.floats)).toEqual(Array.from(inline.initializers[i]!.floats!));
    }
    expect(embedded.nodes).toEqual(inline.nodes);
  });

  it('says which data file is missing or too short, naming the model', () => {
    expect(() => embedExternalData(bytes, model, 'dir/tiny-external.onnx', new Map())).toThrow(/dir\/tiny-external\.onnx: keeps its weights in tiny-external\.onnx\.data, which is not in this drop/);
    const short = new Map([['dir/tiny-external.onnx.data', data.subarray(0, data.length - 9)]]);
    expect(() => embedExternalData(bytes, model, 'dir/tiny-external.onnx', short)).toThrow(/which has only \d+: the data file is truncated/);
  });
});
