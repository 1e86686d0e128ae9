/**
 * Streamed safetensors reading (header, whole tensors, row bands, shards with their index,
 * from a Blob) and writing (header first, tensors in pieces, shards and index), checked
 * against the whole-buffer reader and writers.
 */
import { describe, expect, it } from 'vitest';
import { typedShardedSafetensors, writeTypedSafetensors, type TypedTensor } from '../export/result-export';
import { readSafetensors } from './safetensors-read';
import { tensorToFloat32 } from './safetensors-float';
import { blobReader, openSafetensorsFile, openShardedSafetensors, type ByteReader } from './safetensors-source';
import { SafetensorsStreamWriter, encodeFloats, planStreamShards, safetensorsHeader, type ByteSink, type StreamEntry } from './safetensors-stream-write';
import type { SafetensorsDtype } from './safetensors-format';

const memoryReader = (bytes: Uint8Array): ByteReader => ({ size: bytes.length, read: async (a, b) => bytes.slice(a, b) });

const floats = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7 + i * 0.37) * 3);

const TENSORS: TypedTensor[] = [
  { name: 'a.weight', shape: [6, 5], dtype: 'BF16', data: floats(30, 1) },
  { name: 'b.weight', shape: [4, 3], dtype: 'F16', data: floats(12, 2) },
  { name: 'empty', shape: [0, 4], dtype: 'F32', data: new Float32Array(0) },
  { name: 'ids', shape: [1, 3], dtype: 'I64', bytes: new Uint8Array(BigInt64Array.from([1n, 2n, 3n]).buffer) },
  { name: 'c', shape: [], dtype: 'F32', data: floats(1, 3) },
  { name: 'd.weight', shape: [7, 2], dtype: 'F64', data: floats(14, 4) },
];

class Collect implements ByteSink {
  parts: Uint8Array[] = [];
  closed = false;
  write(b: Uint8Array) {
    this.parts.push(b.slice());
  }
  close() {
    this.closed = true;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts.flatMap((p) => [...p]));
  }
}

describe('streamed safetensors reader', () => {
  const file = writeTypedSafetensors(TENSORS, { format: 'pt' });
  const whole = readSafetensors(file, 'x.safetensors');

  it('reads the header and each tensor as the whole-file reader does, from bytes and from a Blob', async () => {
    for (const reader of [memoryReader(file), blobReader(new Blob([file.slice().buffer as ArrayBuffer]))]) {
      const src = await openSafetensorsFile(reader, 'x.safetensors');
      expect(src.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(whole.tensors.map((t) => [t.name, t.dtype, t.shape]));
      expect(src.metadata).toEqual({ format: 'pt' });
      for (const t of whole.tensors) {
        if (t.dtype === 'I64') expect(await src.readBytes(t.name)).toEqual(t.data.slice());
        else expect(await src.readTensor(t.name)).toEqual(tensorToFloat32(t));
      }
    }
  });

  it('reads row bands that join to the whole tensor, and refuses rows out of range', async () => {
    const src = await openSafetensorsFile(memoryReader(file), 'x.safetensors');
    const all = await src.readTensor('a.weight');
    const bands = [await src.readRows('a.weight', 0, 2), await src.readRows('a.weight', 2, 5), await src.readRows('a.weight', 5, 6)];
    expect(Float32Array.from(bands.flatMap((b) => [...b]))).toEqual(all);
    await expect(src.readRows('a.weight', 4, 7)).rejects.toThrow(/x\.safetensors: tensor "a\.weight" has 6 rows/);
    await expect(src.readTensor('ids')).rejects.toThrow(/I64, not a float tensor/);
    await expect(src.readTensor('nope')).rejects.toThrow(/has no tensor "nope"/);
  });

  it('reads row bands as stored, fresh or into a given buffer, through readInto where the reader has it', async () => {
    const into: ByteReader = { ...memoryReader(file), readInto: async (a, b, dest) => dest.set(file.subarray(a, b)) };
    const stored = whole.tensors.find((t) => t.name === 'a.weight')!.data;
    for (const reader of [memoryReader(file), into]) {
      const src = await openSafetensorsFile(reader, 'x.safetensors');
      expect(await src.readRowBytes!('a.weight', 0, 6)).toEqual(stored.slice());
      const dest = new Uint8Array(3 * 5 * 2);
      expect(await src.readRowBytes!('a.weight', 2, 5, dest)).toBe(dest);
      expect(dest).toEqual(stored.slice(2 * 10, 5 * 10));
      await expect(src.readRowBytes!('a.weight', 2, 4, dest)).rejects.toThrow(/rows \[2, 4\) are 20 bytes, the buffer 30/);
      await expect(src.readRowBytes!('a.weight', 4, 7)).rejects.toThrow(/has 6 rows/);
    }
  });

  it('refuses a truncated file with the whole-file reader\'s message', async () => {
    await expect(openSafetensorsFile(memoryReader(file.slice(0, file.length - 3)), 'cut.safetensors')).rejects.toThrow(/cut\.safetensors: .*truncated/);
  });

  it('joins shards in order and checks them against the weight map', async () => {
    const s1 = writeTypedSafetensors(TENSORS.slice(0, 3), {});
    const s2 = writeTypedSafetensors(TENSORS.slice(3), {});
    const shards = [
      { key: 's1.safetensors', fileName: 'm/s1.safetensors', reader: memoryReader(s1) },
      { key: 's2.safetensors', fileName: 'm/s2.safetensors', reader: memoryReader(s2) },
    ];
    const map = new Map(TENSORS.map((t, i) => [t.name, i < 3 ? 's1.safetensors' : 's2.safetensors']));
    const src = await openShardedSafetensors('m', shards, map, 'm/index.json');
    expect(src.tensors.map((t) => t.name)).toEqual(whole.tensors.map((t) => t.name));
    expect(await src.readTensor('d.weight')).toEqual(tensorToFloat32(whole.tensors.find((t) => t.name === 'd.weight')!));
    const wrong = new Map(map).set('c', 's1.safetensors');
    await expect(openShardedSafetensors('m', shards, wrong, 'm/index.json')).rejects.toThrow(/m\/s2\.safetensors: holds "c", which m\/index\.json places in s1\.safetensors/);
    const extra = new Map(map).set('ghost', 's1.safetensors');
    await expect(openShardedSafetensors('m', shards, extra, 'm/index.json')).rejects.toThrow(/lists 1 tensor no shard holds \(e\.g\. "ghost"\)/);
  });
});

const entryOf = (t: TypedTensor): StreamEntry => ({ name: t.name, dtype: t.dtype as SafetensorsDtype, shape: t.shape });
const bytesOf = (t: TypedTensor): Uint8Array => ('bytes' in t ? t.bytes : encodeFloats(t.data, t.dtype));

describe('streamed safetensors writer', () => {
  it('writes the whole-buffer writer\'s bytes, tensors given in pieces', async () => {
    const sink = new Collect();
    const writer = new SafetensorsStreamWriter([{ entries: TENSORS.map(entryOf), open: () => sink }], { format: 'pt', x: 'y' });
    for (const t of TENSORS) {
      const b = bytesOf(t);
      const cut = Math.floor(b.length / 3 / 2) * 2;
      await writer.append(t.name, b.subarray(0, cut));
      await writer.append(t.name, b.subarray(cut));
    }
    await writer.finish();
    expect(sink.closed).toBe(true);
    expect(sink.bytes()).toEqual(writeTypedSafetensors(TENSORS, { format: 'pt', x: 'y' }));
    expect(safetensorsHeader(TENSORS.map(entryOf), { format: 'pt', x: 'y' }).length % 8).toBe(0);
  });

  it('refuses tensors out of order, too many bytes, or left unwritten', async () => {
    const w1 = new SafetensorsStreamWriter([{ entries: TENSORS.map(entryOf), open: () => new Collect() }], {});
    await expect(w1.append('b.weight', new Uint8Array(2))).rejects.toThrow(/expected tensor "a\.weight" next/);
    const w2 = new SafetensorsStreamWriter([{ entries: TENSORS.map(entryOf), open: () => new Collect() }], {});
    await expect(w2.append('a.weight', new Uint8Array(61))).rejects.toThrow(/61 bytes with only 60 left/);
    const w3 = new SafetensorsStreamWriter([{ entries: TENSORS.map(entryOf), open: () => new Collect() }], {});
    await w3.append('a.weight', new Uint8Array(60));
    await expect(w3.finish()).rejects.toThrow(/"b\.weight" was never written/);
  });

  for (const maxShard of [1, 40, 70, 1e9]) {
    it(`plans and writes shards as typedShardedSafetensors does (at most ${maxShard} bytes)`, async () => {
      const fl = TENSORS.filter((t) => t.dtype !== 'I64').map((t) => ({ name: t.name, dims: t.shape, data: 'data' in t ? t.data : new Float32Array(0) }));
      const raw = [{ name: 'ids', dtype: 'I64', dims: [1, 3], bytes: (TENSORS[3] as { bytes: Uint8Array }).bytes }];
      for (const withRaw of [true, false]) {
        const meta = { format: 'pt', merger: 'm' };
        const expected = typedShardedSafetensors(fl, withRaw ? raw : [], meta, 'BF16', maxShard);
        const { shards, index } = planStreamShards(fl.map((t) => ({ name: t.name, dtype: 'BF16', shape: t.dims })), withRaw ? raw.map((r) => ({ name: r.name, dtype: 'I64', shape: r.dims })) : [], meta, maxShard);
        const sinks = shards.map(() => new Collect());
        const writer = new SafetensorsStreamWriter(shards.map((s, i) => ({ entries: s.entries, open: () => sinks[i]! })), meta);
        for (const t of fl) await writer.append(t.name, encodeFloats(t.data, 'BF16'));
        if (withRaw) await writer.append('ids', raw[0]!.bytes);
        await writer.finish();
        const got = [...shards.map((s, i) => ({ fileName: s.fileName, bytes: sinks[i]!.bytes() })), index];
        expect(got.map((f) => f.fileName)).toEqual(expected.map((f) => f.fileName));
        got.forEach((f, i) => expect(f.bytes).toEqual(expected[i]!.bytes));
      }
    });
  }
});
