import { describe, expect, it } from 'vitest';
import { randomFloats } from '../testing/seeded';
import { readSafetensors } from './safetensors-read';
import { tensorToFloat32 } from './safetensors-float';
import { writeSafetensors } from './safetensors-write';
import { readSafetensorsBlob } from './safetensors-blob';

describe('safetensors from a Blob, tensor by tensor', () => {
  const tensors = [
    { name: 'a.weight', shape: [37, 13], data: randomFloats(37 * 13, 1) },
    { name: 'b.bias', shape: [13], data: randomFloats(13, 2) },
  ];

  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`reads ${dtype} exactly as the whole-file reader does`, async () => {
      const bytes = writeSafetensors(tensors, { format: 'pt' }, dtype);
      const streamed = await readSafetensorsBlob(new Blob([bytes as BlobPart]), 'x.safetensors');
      const whole = readSafetensors(bytes, 'x.safetensors');
      expect(streamed.size).toBe(bytes.length);
      expect(streamed.metadata).toEqual({ format: 'pt' });
      expect(streamed.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(whole.tensors.map((t) => [t.name, t.dtype, t.shape]));
      for (const [i, t] of streamed.tensors.entries()) expect(Array.from(t.data)).toEqual(Array.from(tensorToFloat32(whole.tensors[i]!)));
    });
  }

  it('a truncated file fails as it would whole, naming the file', async () => {
    const bytes = writeSafetensors(tensors, undefined, 'F32');
    await expect(readSafetensorsBlob(new Blob([bytes.subarray(0, bytes.length - 5) as BlobPart]), 'cut.safetensors')).rejects.toThrow(/^cut\.safetensors: data section is \d+ bytes but tensors need \d+: the file is truncated/);
  });
});
