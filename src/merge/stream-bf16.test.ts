/**
 * The streamed merge's bfloat16 kernels against the route they replace (decode to float32,
 * linearMerge / taskArithmeticMerge, encodeBFloat16): the same bytes at lengths that are not
 * multiples of the vector width, with denormals, infinities and rounding ties; null where an
 * output is NaN. And streamMerge with the fast path against the float32 route, banded and whole.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { assembleWat, generatedModule } from '../kernels/de-step/de-step.assemble';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { linearMerge } from '../kernels/task-vector/linear.cpu';
import { taskArithmeticMerge } from '../kernels/task-vector/task-arithmetic.cpu';
import { encodeBFloat16, tensorToFloat32 } from '../formats/safetensors-float';
import { blobReader, openSafetensorsFile, type TensorSource } from '../formats/safetensors-source';
import { SafetensorsStreamWriter } from '../formats/safetensors-stream-write';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { methodFor } from './registry';
import { BF16_STREAM_MAX_MODELS, Bf16Codec, Bf16StreamKernel, bf16MergeScalars, CODEC_PIECE } from './stream-bf16';
import { STREAM_BF16_WASM_BASE64 } from './stream-bf16.wasm.gen';
import { streamBf16Wat } from './stream-bf16.wat';
import { streamMerge, type StreamDtype } from './stream-merge';

const rng = new CounterRng(0xbf16, 3);
const SIZES = [1, 2, 7, 8, 9, 15, 17, 1001, 4099];
const kernel = Bf16StreamKernel.create()!;

const bytesOf = (bits: Uint16Array) => new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
const decode = (bytes: Uint8Array) => tensorToFloat32({ name: 't', dtype: 'BF16', shape: [bytes.length / 2], data: bytes });

/** bfloat16 bits of mixed kinds: ordinary values, denormals, zeros of both signs, ±inf, and (with `nan`) NaNs. */
function randomBf16(n: number, nan: boolean): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const kind = rng.nextUnit();
    const sign = rng.nextUnit() < 0.5 ? 0x8000 : 0;
    if (kind < 0.7) out[i] = sign | (0x3c00 + rng.nextInt(0x600));
    else if (kind < 0.85) out[i] = sign | rng.nextInt(0x80); // denormal (or zero)
    else if (kind < 0.9) out[i] = sign | rng.nextInt(0x7f80);
    else if (kind < 0.93) out[i] = sign;
    else if (kind < 0.95 || !nan) out[i] = sign | (0x0080 + rng.nextInt(0x100)); // smallest normals
    else out[i] = sign | 0x7f80 | (1 + rng.nextInt(0x7f)); // NaN
  }
  return out;
}

/** Neighbours of `a`: one bfloat16 ulp apart, so their mean is a rounding tie. */
const neighbour = (a: Uint16Array) => a.map((b) => ((b & 0x7f80) === 0x7f80 ? b : b + 1));

function routeBytes(method: 'linear' | 'task_arithmetic', models: Uint8Array[], base: Uint8Array | null, params: { weights?: number[]; normalize?: boolean; lambda?: number }): Uint8Array {
  const xs = models.map(decode);
  const out = new Float32Array(xs[0]!.length);
  if (method === 'linear') linearMerge(xs, out, params);
  else taskArithmeticMerge(xs, decode(base!), out, params);
  return bytesOf(encodeBFloat16(out));
}

const hasNaN = (bytes: Uint8Array) => decode(bytes).some((v) => Number.isNaN(v));

function scalarsFor(method: 'linear' | 'task_arithmetic', count: number, weights: number[], normalize: boolean, lambda: number) {
  const params = { ...DEFAULT_MERGE, method, weights, normalize, lambda } as MergeParams;
  return bf16MergeScalars(methodFor(method), params, 't', 0, count, method === 'task_arithmetic')!;
}

describe('stream-bf16 WASM SIMD against the float32 route', () => {
  it('the committed module is the assembled WAT', async () => {
    const bytes = await assembleWat(streamBf16Wat(), 'stream-bf16.wat.ts');
    const committed = readFileSync(new URL('./stream-bf16.wasm.gen.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generatedModule('STREAM_BF16_WASM_BASE64', 'src/merge/stream-bf16.wat.ts', Buffer.from(bytes).toString('base64')));
    expect(Buffer.from(STREAM_BF16_WASM_BASE64, 'base64').equals(Buffer.from(bytes))).toBe(true);
  });

  for (const method of ['linear', 'task_arithmetic'] as const) {
    it(`${method}: the route's bytes for 1 to ${BF16_STREAM_MAX_MODELS} models, odd lengths, denormals, infinities, ties`, () => {
      for (let count = 1; count <= BF16_STREAM_MAX_MODELS; count++) {
        for (const n of SIZES) {
          const first = randomBf16(n, false);
          const models = Array.from({ length: count }, (_, i) => bytesOf(i === 1 ? neighbour(first) : i === 0 ? first : randomBf16(n, false)));
          const base = method === 'task_arithmetic' ? bytesOf(count === 1 ? neighbour(first) : randomBf16(n, false)) : null;
          const weights = Array.from({ length: count }, () => (rng.nextUnit() < 0.5 ? 1 : 3 * rng.nextUnit() - 1));
          const normalize = rng.nextUnit() < 0.5;
          const lambda = rng.nextUnit() < 0.3 ? 1 : 2 * rng.nextUnit();
          const want = routeBytes(method, models, base, { weights, normalize, lambda });
          const got = kernel.merge(models, base, scalarsFor(method, count, weights, normalize, lambda));
          const label = `${method}, ${count} models, ${n} elements`;
          if (hasNaN(want)) expect(got, label).toBeNull();
          else expect(Buffer.from(got!).equals(Buffer.from(want)), label).toBe(true);
        }
      }
    });
  }

  it('two neighbouring values average to a tie, rounded to even as encodeBFloat16 rounds', () => {
    const a = Uint16Array.from({ length: 37 }, (_, i) => 0x3f80 + i);
    const models = [bytesOf(a), bytesOf(neighbour(a))];
    const got = kernel.merge(models, null, scalarsFor('linear', 2, [1, 1], true, 1))!;
    expect(Buffer.from(got).equals(Buffer.from(routeBytes('linear', models, null, {})))).toBe(true);
    const even = new Uint16Array(got.buffer, got.byteOffset, 37);
    for (let i = 0; i < 37; i++) expect(even[i]! & 1, `element ${i}`).toBe(0);
  });

  it('answers null when an output is NaN (a NaN input, or inf − inf)', () => {
    const nan = bytesOf(Uint16Array.of(0x3f80, 0x7fc1, 0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x3f80));
    const one = bytesOf(new Uint16Array(9).fill(0x3f80));
    expect(kernel.merge([nan, one], null, scalarsFor('linear', 2, [1, 1], true, 1))).toBeNull();
    const inf = bytesOf(Uint16Array.of(0x3f80, 0x7f80, 0x3f80));
    const minusInf = bytesOf(Uint16Array.of(0x3f80, 0xff80, 0x3f80));
    expect(kernel.merge([inf, minusInf], null, scalarsFor('linear', 2, [1, 1], true, 1))).toBeNull();
    expect(kernel.merge([inf], bytesOf(Uint16Array.of(0, 0, 0)), scalarsFor('task_arithmetic', 1, [1], false, 1))).not.toBeNull();
  });

  it('gives no scalars where the fast path does not apply', () => {
    const params = { ...DEFAULT_MERGE, method: 'linear' } as MergeParams;
    expect(bf16MergeScalars(methodFor('ties'), { ...params, method: 'ties' }, 't', 0, 2, true)).toBeNull();
    expect(bf16MergeScalars(methodFor('linear'), params, 't', 0, BF16_STREAM_MAX_MODELS + 1, false)).toBeNull();
    expect(bf16MergeScalars(methodFor('task_arithmetic'), { ...params, method: 'task_arithmetic' }, 't', 0, 2, false)).toBeNull();
  });
});

describe('the bfloat16 codec against safetensors-float.ts', () => {
  const codec = Bf16Codec.create()!;
  it('decodes and encodes the same bits at odd lengths and across pieces, NaNs included', () => {
    for (const n of [...SIZES, CODEC_PIECE - 1, CODEC_PIECE + 9, 2 * CODEC_PIECE + 3]) {
      for (const nan of [false, true]) {
        const bytes = bytesOf(randomBf16(n, nan));
        const want = decode(bytes);
        const got = codec.decodeInto(bytes, new Float32Array(n));
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `decode ${n}, NaN ${nan}`).toBe(true);
        // Values between bfloat16 steps, so the rounding (and its ties) is exercised; NaNs of any payload.
        const values = Float32Array.from(want, (v, i) => (i % 3 === 0 ? v : v * (1 + (rng.nextUnit() - 0.5) / 64)));
        const encoded = codec.encode(values, i32Filled(n * 2));
        expect(Buffer.from(encoded).equals(Buffer.from(bytesOf(encodeBFloat16(values)))), `encode ${n}, NaN ${nan}`).toBe(true);
      }
    }
  });

  it('refuses arrays of mismatched lengths', () => {
    expect(() => codec.decodeInto(new Uint8Array(6), new Float32Array(2))).toThrow(/6 bfloat16 bytes into 2 floats/);
    expect(() => codec.encode(new Float32Array(3), new Uint8Array(4))).toThrow(/3 floats into 4 bfloat16 bytes/);
  });
});

/** A byte array filled with garbage (a reused buffer's leftovers). */
const i32Filled = (n: number) => new Uint8Array(n).fill(0xa5);

/** A BF16 checkpoint in memory, tensors of awkward shapes. */
async function checkpoint(seed: number, nan: boolean): Promise<TensorSource> {
  const shapes = [[33, 7], [5], [64, 9], [3, 3]];
  const entries = shapes.map((shape, i) => ({ name: `t${i}`, dtype: 'BF16' as const, shape }));
  const parts: Uint8Array[] = [];
  const writer = new SafetensorsStreamWriter([{ entries, open: () => ({ write: (b) => void parts.push(b.slice()), close: () => undefined }) }], {});
  for (const [i, e] of entries.entries()) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    // t1 is the same everywhere (a tensor no input changes); t3 holds NaNs in the fine-tunes when asked.
    const bits = i === 1 ? Uint16Array.from({ length: n }, (_, j) => 0x3f00 + j) : randomBf16(n, nan && i === 3 && seed > 0);
    await writer.append(e.name, bytesOf(bits));
  }
  await writer.finish();
  return openSafetensorsFile(blobReader(new Blob(parts.map((p) => p.buffer as ArrayBuffer))), `m${seed}.safetensors`);
}

/** The same source without raw reads: streamMerge takes the float32 route. */
const floatOnly = (s: TensorSource): TensorSource => ({ name: s.name, tensors: s.tensors, metadata: s.metadata, entry: (n) => s.entry(n), readTensor: (n) => s.readTensor(n), readRows: (n, a, b) => s.readRows(n, a, b), readBytes: (n) => s.readBytes(n) });

async function merged(models: TensorSource[], base: TensorSource | null, params: MergeParams, chunkBytes: number, writeDone = false): Promise<Buffer> {
  const out: Uint8Array[] = [];
  await streamMerge({ models, base, method: methodFor(params.method), params, outDtype: (): StreamDtype => 'BF16', write: async (_, b) => void out.push(b.slice()), chunkBytes, writeDone });
  return Buffer.concat(out);
}

describe('streamMerge with the bfloat16 fast path', () => {
  it('the float32 route\'s bytes: linear and task arithmetic, whole and in row bands, NaN tensors included', async () => {
    const calls = vi.spyOn(Bf16StreamKernel.prototype, 'merge');
    for (const nan of [false, true]) {
      const [base, ...models] = await Promise.all([0, 1, 2, 3].map((s) => checkpoint(s, nan)));
      for (const params of [
        { ...DEFAULT_MERGE, method: 'linear', weights: [1, 0.3, 2] },
        { ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 0.7 },
      ] as MergeParams[]) {
        for (const chunkBytes of [1 << 20, 7 * 4 * 5 * 4]) {
          const withBase = params.method === 'task_arithmetic' ? base! : null;
          const route = await merged(models.map(floatOnly), withBase && floatOnly(withBase), params, chunkBytes);
          for (const writeDone of [false, true]) {
            const fast = await merged(models, withBase, params, chunkBytes, writeDone);
            expect(fast.equals(route), `${params.method}, budget ${chunkBytes}, NaN ${nan}, writeDone ${writeDone}`).toBe(true);
          }
          // The fast path ran (and answered null on the NaN tensor, which the route then took).
          expect(calls).toHaveBeenCalled();
          calls.mockClear();
        }
      }
    }
  });
});

describe('streamMerge of the float32 methods through the codec', () => {
  it('the TypeScript decode\'s bytes: TIES, DARE, SLERP, model stock, whole and in row bands, reused arrays, NaN tensors included', async () => {
    const decodes = vi.spyOn(Bf16Codec.prototype, 'decodeInto');
    for (const nan of [false, true]) {
      const [base, ...models] = await Promise.all([0, 1, 2, 3].map((s) => checkpoint(s, nan)));
      for (const params of [
        { ...DEFAULT_MERGE, method: 'ties', density: 0.5 },
        { ...DEFAULT_MERGE, method: 'dare_linear', density: 0.5, seed: 3 },
        { ...DEFAULT_MERGE, method: 'slerp', t: 0.3 },
        { ...DEFAULT_MERGE, method: 'model_stock' },
      ] as MergeParams[]) {
        const inputs = params.method === 'slerp' ? models.slice(0, 2) : models;
        const withBase = params.method === 'slerp' ? null : base!;
        for (const chunkBytes of [1 << 20, 7 * 4 * 5 * 4]) {
          const label = `${params.method}, budget ${chunkBytes}, NaN ${nan}`;
          // SLERP refuses NaN weights: both routes, with the same message.
          const route = await merged(inputs.map(floatOnly), withBase && floatOnly(withBase), params, chunkBytes).catch((e: Error) => e);
          for (const writeDone of [false, true]) {
            const codec = await merged(inputs, withBase, params, chunkBytes, writeDone).catch((e: Error) => e);
            if (route instanceof Error) expect((codec as Error).message, label).toBe(route.message);
            else expect((codec as Buffer).equals(route), `${label}, writeDone ${writeDone}`).toBe(true);
          }
          expect(decodes).toHaveBeenCalled();
          decodes.mockClear();
        }
      }
    }
  });
});
