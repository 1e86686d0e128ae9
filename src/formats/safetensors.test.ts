import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFormatError } from './errors';
import { encodeBFloat16, encodeFloat16, tensorToFloat32 } from './safetensors-float';
import { readSafetensors, sniffSafetensors, type SafetensorsTensor } from './safetensors-read';
import { writeSafetensors } from './safetensors-write';
import { type SafetensorsDtype } from './safetensors-format';
import { mulberry32 } from '../testing/seeded';

/**
 * Both signs, magnitudes spread over eight decades (two draws per value), so the
 * f16/bf16 encoders meet subnormals and many exponents; randomFloats' uniform ±2 would not.
 */
function wideRangeFloats(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() - 0.5) * 10 ** (r() * 8 - 4);
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Hand-build a file from a raw header string and data section. */
function buildFile(header: string, data: Uint8Array, declaredLength?: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, declaredLength ?? h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectFormatError(fn: () => unknown, pattern: RegExp, fileName = 'expert-a.safetensors'): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsFormatError);
  const err = caught as SafetensorsFormatError;
  expect(err.name).toBe('SafetensorsFormatError');
  expect(err.fileName).toBe(fileName);
  expect(err.message.startsWith(`${fileName}: `)).toBe(true);
  expect(err.message).toMatch(pattern);
}

describe('writeSafetensors / readSafetensors round trip', () => {
  const tensors = [
    { name: 'layer.0.weight', shape: [3, 7], data: wideRangeFloats(21, 1) },
    { name: 'layer.0.bias', shape: [7], data: wideRangeFloats(7, 2) },
    { name: 'scalar', shape: [], data: wideRangeFloats(1, 3) },
    { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
    { name: '10', shape: [2, 3, 5], data: wideRangeFloats(30, 4) }, // integer-like name keeps its place
    { name: 'ünïcødé ✓', shape: [1, 1, 1, 13], data: wideRangeFloats(13, 5) },
  ];

  it('is bit-exact for F32 and keeps order, shapes and metadata', () => {
    const metadata = { format: 'pt', note: 'evolved "quoted" \\ text' };
    const bytes = writeSafetensors(tensors, metadata);
    expect(sniffSafetensors(bytes)).toBe(true);
    const file = readSafetensors(bytes, 'out.safetensors');
    expect(file.metadata).toEqual(metadata);
    expect(file.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const [i, t] of file.tensors.entries()) {
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(tensors[i]!.shape);
      expect(bits(tensorToFloat32(t))).toEqual(bits(tensors[i]!.data));
    }
  });

  it('pads the header with spaces so the data section is 8-byte aligned', () => {
    for (let extra = 0; extra < 9; extra++) {
      const bytes = writeSafetensors([{ name: 'w'.repeat(extra + 1), shape: [2], data: wideRangeFloats(2, 10 + extra) }]);
      const n = new DataView(bytes.buffer).getUint32(0, true);
      expect((8 + n) % 8).toBe(0);
      const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
      expect(header.trimEnd().endsWith('}')).toBe(true);
      expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
      expect(bytes.length).toBe(8 + n + 8);
    }
  });

  it('writes no __metadata__ entry when there is none', () => {
    const bytes = writeSafetensors([{ name: 'w', shape: [1], data: wideRangeFloats(1, 20) }]);
    expect(new TextDecoder().decode(bytes)).not.toContain('__metadata__');
    expect(readSafetensors(bytes, 'x.safetensors').metadata).toEqual({});
  });

  it('writes F16 and BF16 that read back as the encoded values', () => {
    const data = wideRangeFloats(64, 21);
    for (const dtype of ['F16', 'BF16'] as const) {
      const file = readSafetensors(writeSafetensors([{ name: 'w', shape: [8, 8], data }], undefined, dtype), 'h.safetensors');
      const t = file.tensors[0]!;
      expect(t.dtype).toBe(dtype);
      expect(t.data.byteLength).toBe(128);
      const stored = new Uint16Array(t.data.slice().buffer);
      expect(stored).toEqual(dtype === 'F16' ? encodeFloat16(data) : encodeBFloat16(data));
      const back = tensorToFloat32(t);
      for (let i = 0; i < data.length; i++) {
        expect(Math.abs(back[i]! - data[i]!)).toBeLessThanOrEqual(Math.abs(data[i]!) * (dtype === 'F16' ? 2 ** -11 : 2 ** -8) + 2 ** -25);
      }
    }
  });

  it('rejects a shape that does not match the data and duplicate names', () => {
    expect(() => writeSafetensors([{ name: 'w', shape: [2, 2], data: wideRangeFloats(3, 1) }])).toThrow(/3 values but shape \[2,2\] needs 4/);
    expect(() =>
      writeSafetensors([
        { name: 'w', shape: [1], data: wideRangeFloats(1, 1) },
        { name: 'w', shape: [1], data: wideRangeFloats(1, 2) },
      ]),
    ).toThrow(SafetensorsFormatError);
  });
});

describe('tensorToFloat32 for every dtype', () => {
  function tensor(dtype: SafetensorsDtype, shape: number[], raw: ArrayBufferView, odd = true): SafetensorsTensor {
    // Build the file by hand, with a 1-byte pad tensor first so multi-byte data sits at an odd offset.
    const payload = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    const pad = odd ? 1 : 0;
    let header = JSON.stringify({
      ...(odd ? { pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } } : {}),
      t: { dtype, shape, data_offsets: [pad, pad + payload.length] },
    });
    // Place the data section at offset ≡ 0 (mod 8), so the tensor starts at ≡ pad (mod 8).
    header += ' '.repeat((8 - ((8 + header.length) % 8)) % 8);
    const data = new Uint8Array(pad + payload.length);
    data.set(payload, pad);
    const file = readSafetensors(buildFile(header, data), 'dtypes.safetensors');
    const t = file.tensors.find((x) => x.name === 't')!;
    expect(t.dtype).toBe(dtype);
    expect(t.data.byteOffset % 8).toBe(pad);
    return t;
  }

  it('F32 (unaligned)', () => {
    const v = wideRangeFloats(5, 7);
    expect(bits(tensorToFloat32(tensor('F32', [5], v)))).toEqual(bits(v));
  });

  it('F16 incl. 1, inf, NaN, subnormals and -0', () => {
    const h = new Uint16Array([0x3c00, 0x7c00, 0xfc00, 0x0001, 0x03ff, 0x0400, 0xc000, 0x7bff, 0x8000, 0x3555, 0x7e00]);
    const f = tensorToFloat32(tensor('F16', [h.length], h));
    expect(f[0]).toBe(1);
    expect(f[1]).toBe(Infinity);
    expect(f[2]).toBe(-Infinity);
    expect(f[3]).toBe(2 ** -24);
    expect(f[4]).toBe(1023 * 2 ** -24);
    expect(f[5]).toBe(2 ** -14);
    expect(f[6]).toBe(-2);
    expect(f[7]).toBe(65504);
    expect(Object.is(f[8], -0)).toBe(true);
    expect(f[9]).toBeCloseTo(1 / 3, 3);
    expect(Number.isNaN(f[10])).toBe(true);
  });

  it('BF16 is the upper half of float32', () => {
    const v = wideRangeFloats(9, 8);
    const b = new Uint16Array(Array.from(bits(v), (x) => x >>> 16));
    const f = tensorToFloat32(tensor('BF16', [3, 3], b));
    for (let i = 0; i < 9; i++) expect(bits(f)[i]).toBe((bits(v)[i]! & 0xffff0000) >>> 0);
    expect(tensorToFloat32(tensor('BF16', [2], new Uint16Array([0x3f80, 0xc040]))) ).toEqual(new Float32Array([1, -3]));
  });

  it('F64 rounds to float32', () => {
    const v = new Float64Array([Math.PI, -1e-3, 1e300, 0.1]);
    expect(tensorToFloat32(tensor('F64', [4], v))).toEqual(new Float32Array([Math.PI, -1e-3, Infinity, 0.1]));
  });

  it('integers, signed and unsigned, 8 to 64 bit', () => {
    expect(tensorToFloat32(tensor('I8', [4], new Int8Array([-128, -1, 0, 127])))).toEqual(new Float32Array([-128, -1, 0, 127]));
    expect(tensorToFloat32(tensor('U8', [3], new Uint8Array([0, 200, 255])))).toEqual(new Float32Array([0, 200, 255]));
    expect(tensorToFloat32(tensor('I16', [3], new Int16Array([-32768, -7, 32767])))).toEqual(new Float32Array([-32768, -7, 32767]));
    expect(tensorToFloat32(tensor('U16', [2], new Uint16Array([65535, 3])))).toEqual(new Float32Array([65535, 3]));
    expect(tensorToFloat32(tensor('I32', [3], new Int32Array([-2147483648, -5, 123456])))).toEqual(new Float32Array([-2147483648, -5, 123456]));
    expect(tensorToFloat32(tensor('U32', [2], new Uint32Array([4294967295, 9])))).toEqual(new Float32Array([4294967295, 9]));
    const i64 = new BigInt64Array([-1n, -(2n ** 40n) - 3n, 2n ** 33n + 1n, 5n]);
    expect(tensorToFloat32(tensor('I64', [4], i64))).toEqual(new Float32Array([-1, -(2 ** 40) - 3, 2 ** 33 + 1, 5]));
    const u64 = new BigUint64Array([2n ** 64n - 1n, 7n]);
    expect(tensorToFloat32(tensor('U64', [2], u64))).toEqual(new Float32Array([2 ** 64, 7]));
  });

  it('BOOL and float8', () => {
    expect(tensorToFloat32(tensor('BOOL', [3], new Uint8Array([1, 0, 1])))).toEqual(new Float32Array([1, 0, 1]));
    // e4m3fn: 0x38 = 1, 0x7e = 448 (max), 0x01 = 2^-9, 0x7f = NaN, 0xc0 = -2
    const e4 = tensorToFloat32(tensor('F8_E4M3', [5], new Uint8Array([0x38, 0x7e, 0x01, 0x7f, 0xc0])));
    expect(Array.from(e4.subarray(0, 3))).toEqual([1, 448, 2 ** -9]);
    expect(Number.isNaN(e4[3])).toBe(true);
    expect(e4[4]).toBe(-2);
    // e5m2: 0x3c = 1, 0x7c = inf, 0x01 = 2^-16
    expect(tensorToFloat32(tensor('F8_E5M2', [3], new Uint8Array([0x3c, 0x7c, 0x01])))).toEqual(new Float32Array([1, Infinity, 2 ** -16]));
  });

  it('aligned data gives the same values and never aliases the file', () => {
    const v = wideRangeFloats(4, 9);
    const t = tensor('F32', [4], v, false);
    const f = tensorToFloat32(t);
    f[0] = 12345;
    expect(bits(tensorToFloat32(t))).toEqual(bits(v));
  });
});

describe('encodeFloat16 / encodeBFloat16', () => {
  it('F16: every non-NaN half survives decode → encode', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = tensorToFloat32({ name: 'h', dtype: 'F16', shape: [65536], data: new Uint8Array(all.buffer) });
    const again = encodeFloat16(decoded);
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) expect((again[h]! & 0x7c00) === 0x7c00 && (again[h]! & 0x3ff) !== 0).toBe(true);
      else if (again[h] !== h) expect.fail(`half 0x${h.toString(16)} came back as 0x${again[h]!.toString(16)}`);
    }
  });

  it('F16 rounds to nearest, ties to even, overflow to inf, underflow to 0', () => {
    const cases: [number, number][] = [
      [1 + 2 ** -11, 0x3c00], // tie → even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01],
      [65520, 0x7c00], // tie between 65504 and 2^16 rounds to inf
      [65519, 0x7bff],
      [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even 0
      [2 ** -25 + 2 ** -35, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal ulps → 2
      [2 ** -14 - 2 ** -26, 0x0400], // rounds up into the normal range
      [-1e-10, 0x8000],
      [1e10, 0x7c00],
    ];
    const out = encodeFloat16(new Float32Array(cases.map((c) => c[0])));
    cases.forEach(([, h], i) => expect(out[i], `case ${i}`).toBe(h));
  });

  it('F16 and BF16 pick the nearest representable value on random input', () => {
    const v = wideRangeFloats(2000, 33);
    const h = encodeFloat16(v);
    const hd = tensorToFloat32({ name: 'h', dtype: 'F16', shape: [v.length], data: new Uint8Array(h.buffer) });
    const b = encodeBFloat16(v);
    const bd = tensorToFloat32({ name: 'b', dtype: 'BF16', shape: [v.length], data: new Uint8Array(b.buffer) });
    const neighbours = (dtype: 'F16' | 'BF16', x: number): number[] => {
      const next = new Uint16Array([x + 1, x - 1]);
      return Array.from(tensorToFloat32({ name: 'n', dtype, shape: [2], data: new Uint8Array(next.buffer) }));
    };
    for (let i = 0; i < v.length; i++) {
      for (const n of neighbours('F16', h[i]!)) expect(Math.abs(v[i]! - hd[i]!)).toBeLessThanOrEqual(Math.abs(v[i]! - n));
      for (const n of neighbours('BF16', b[i]!)) expect(Math.abs(v[i]! - bd[i]!)).toBeLessThanOrEqual(Math.abs(v[i]! - n));
    }
  });

  it('BF16 ties to even, keeps NaN and inf', () => {
    const v = new Float32Array(5);
    const u = bits(v);
    u[0] = 0x3f808000; // tie, lsb 0 → 0x3f80
    u[1] = 0x3f818000; // tie, lsb 1 → 0x3f82
    u[2] = 0x7f7fffff; // max float rounds to inf
    u[3] = 0x7f800001; // signalling NaN stays NaN
    u[4] = 0xff800000; // -inf
    expect(Array.from(encodeBFloat16(v))).toEqual([0x3f80, 0x3f82, 0x7f80, 0x7fc0, 0xff80]);
  });
});

describe('readSafetensors strict rules', () => {
  const name = 'expert-a.safetensors';
  const good = writeSafetensors([
    { name: 'a', shape: [2, 2], data: wideRangeFloats(4, 40) },
    { name: 'b', shape: [3], data: wideRangeFloats(3, 41) },
  ]);
  const data28 = new Uint8Array(28).map((_, i) => i * 7 + 1);

  it('accepts the good file and an out-of-order header', () => {
    expect(readSafetensors(good, name).tensors).toHaveLength(2);
    const f = readSafetensors(
      buildFile('{"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', data28),
      name,
    );
    expect(f.tensors.map((t) => t.name)).toEqual(['a', 'b']);
    expect(f.tensors[1]!.data).toEqual(data28.subarray(16));
  });

  it('file shorter than 8 bytes', () => {
    expectFormatError(() => readSafetensors(good.subarray(0, 5), name), /5 bytes, too short/);
  });

  it('truncated file', () => {
    expectFormatError(() => readSafetensors(good.subarray(0, good.length - 3), name), /truncated/);
  });

  it('header length beyond the file', () => {
    expectFormatError(() => readSafetensors(buildFile('{}', new Uint8Array(0), 4000), name), /header length 4000 bytes exceeds the file/);
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(4, 7, true); // ~30 GB
    expectFormatError(() => readSafetensors(huge, name), /exceeds the 100 MB limit/);
  });

  it('bad JSON, non-object JSON and bad UTF-8', () => {
    expectFormatError(() => readSafetensors(buildFile('{"a": [1, 2', new Uint8Array(0)), name), /not valid JSON/);
    expectFormatError(() => readSafetensors(buildFile('[1, 2, 3]  ', new Uint8Array(0)), name), /not an object/);
    const bad = buildFile('{"\u00e9":1}', new Uint8Array(0));
    bad[10] = 0xff;
    expectFormatError(() => readSafetensors(bad, name), /UTF-8/);
  });

  it('gap between tensors', () => {
    const h = '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[20,28]}}';
    expectFormatError(() => readSafetensors(buildFile(h, data28), name), /gap in data section: bytes \[16, 20\) before tensor "b"/);
  });

  it('overlapping tensors', () => {
    const h = '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[12,28]}}';
    expectFormatError(() => readSafetensors(buildFile(h, data28), name), /"b" data_offsets \[12, 28\] overlap tensor "a"/);
  });

  it('byte length that does not match dtype × shape', () => {
    const h = '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]},"x":{"dtype":"U8","shape":[16],"data_offsets":[12,28]}}';
    expectFormatError(
      () => readSafetensors(buildFile(h, data28), name),
      /tensor "w" data_offsets \[0, 12\] do not match dtype F32 × shape \[2,2\] \(16 bytes\)/,
    );
  });

  it('trailing bytes after the last tensor', () => {
    const h = '{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}';
    expectFormatError(() => readSafetensors(buildFile(h, data28), name), /4 trailing bytes/);
  });

  it('unknown dtype, bad shape, bad offsets', () => {
    const e = (entry: string) => buildFile(`{"w":${entry}}`, data28.subarray(0, 16));
    expectFormatError(() => readSafetensors(e('{"dtype":"F12","shape":[4],"data_offsets":[0,16]}'), name), /unknown dtype "F12"/);
    expectFormatError(() => readSafetensors(e('{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}'), name), /shape \[-4\]/);
    expectFormatError(() => readSafetensors(e('{"dtype":"F32","shape":[1.5],"data_offsets":[0,16]}'), name), /shape/);
    expectFormatError(() => readSafetensors(e('{"dtype":"F32","shape":[4],"data_offsets":[0]}'), name), /data_offsets \[0\]/);
    expectFormatError(() => readSafetensors(e('{"dtype":"F32","shape":[4],"data_offsets":[16,0]}'), name), /do not match/);
    expectFormatError(() => readSafetensors(e('[1]'), name), /"w" is not an object/);
  });

  it('duplicate tensor names (which JSON.parse would hide)', () => {
    const h = '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}, "w" :{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}';
    expectFormatError(() => readSafetensors(buildFile(h, data28), name), /names "w" more than once/);
    // The same name nested inside an entry is not a duplicate; escaped keys are decoded.
    const ok = '{"meta\\"x":{"dtype":"U8","shape":[12],"data_offsets":[16,28],"w":1},"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
    expect(readSafetensors(buildFile(ok, data28), name).tensors.map((t) => t.name)).toEqual(['w', 'meta"x']);
  });

  it('metadata must map strings to strings', () => {
    const h = '{"__metadata__":{"n":3},"w":{"dtype":"F32","shape":[7],"data_offsets":[0,28]}}';
    expectFormatError(() => readSafetensors(buildFile(h, data28), name), /"__metadata__" entry "n" is not a string/);
  });
});

describe('sniffSafetensors', () => {
  it('recognises headers and rejects other bytes', () => {
    const file = writeSafetensors([{ name: 'w', shape: [2], data: wideRangeFloats(2, 50) }]);
    expect(sniffSafetensors(file.subarray(0, 16))).toBe(true);
    expect(sniffSafetensors(new TextEncoder().encode('{"hello": "world"}'))).toBe(false);
    expect(sniffSafetensors(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 0x5b]))).toBe(false);
    expect(sniffSafetensors(new Uint8Array([0x08, 0x07, 0x12, 0x07]))).toBe(false);
  });
});

interface SafetensorsFixture {
  file: string;
  format: string;
  reason: string;
  assert: {
    metadata: Record<string, string>;
    tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; values: number[] }[];
  };
}

const FIXTURES = join(__dirname, 'fixtures');
const manifestPath = join(FIXTURES, 'fixtures.json');

describe.skipIf(!existsSync(manifestPath))('fixtures written by other implementations', () => {
  const manifest = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as SafetensorsFixture[]) : [];
  for (const fx of manifest.filter((f) => f.format === 'safetensors')) {
    it(`${fx.file}: ${fx.reason}`, () => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, fx.file)));
      expect(sniffSafetensors(bytes.subarray(0, 64))).toBe(true);
      const file = readSafetensors(bytes, fx.file);
      expect(file.metadata).toEqual(fx.assert.metadata);
      expect(file.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(fx.assert.tensors.map((t) => [t.name, t.dtype, t.shape]));
      for (const [i, t] of file.tensors.entries()) {
        expect(tensorToFloat32(t), t.name).toEqual(new Float32Array(fx.assert.tensors[i]!.values));
      }
    });
  }
});
