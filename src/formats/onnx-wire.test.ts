// The protobuf wire reader and writer (onnx-wire.ts): varints, fixed and LEN fields, malformed input.

import { describe, expect, it } from 'vitest';
import { ProtobufWireError } from './errors';
import { WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, WireWriter, readFields, readVarint } from './onnx-wire';

describe('onnx-wire', () => {
  it('round-trips varints up to 2^53 and negative int64', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -1, -2, -(2 ** 40)];
    const w = new WireWriter();
    values.forEach((v, i) => w.varintField(i + 1, v));
    const fields = [...readFields(w.finish())];
    expect(fields.map((f) => f.num)).toEqual(values.map((_, i) => i + 1));
    expect(fields.every((f) => f.type === WIRE_VARINT)).toBe(true);
    values.forEach((v, i) => expect(fields[i]!.signed, `value ${v}`).toBe(v));
    expect(fields[8]!.value).toBe(2 ** 64); // -1 as uint64, rounded to the nearest double
    expect(readVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), 0)).toEqual([2 ** 53 - 1, 8]);
  });

  it('reads fixed32/fixed64 and LEN fields as ranges', () => {
    const w = new WireWriter().floatField(3, 1.5).tag(4, 1).raw(new Uint8Array(8).fill(7)).stringField(5, 'héllo');
    const bytes = w.finish();
    const [f32, f64, len] = [...readFields(bytes)];
    expect(f32!.type).toBe(WIRE_FIXED32);
    expect(new DataView(bytes.buffer).getFloat32(f32!.start, true)).toBe(1.5);
    expect(f64!.end - f64!.start).toBe(8);
    expect(len!.type).toBe(WIRE_LEN);
    expect(new TextDecoder().decode(bytes.subarray(len!.start, len!.end))).toBe('héllo');
  });

  it('rejects truncation, overlong varints, groups and field 0', () => {
    const bytes = new WireWriter().stringField(1, 'abcdef').finish();
    expect(() => [...readFields(bytes.subarray(0, 5))]).toThrow(/truncated protobuf at byte 0/);
    expect(() => [...readFields(new Uint8Array([0x08]))]).toThrow(/truncated protobuf at byte 1/);
    expect(() => [...readFields(new Uint8Array([0x0d, 1, 2]))]).toThrow(ProtobufWireError);
    expect(() => [...readFields(new Uint8Array([0x08, ...new Array(10).fill(0x80), 1]))]).toThrow(/longer than 10 bytes/);
    expect(() => [...readFields(new Uint8Array([0x0b]))]).toThrow(/wire type 3/);
    expect(() => [...readFields(new Uint8Array([0x00, 0x01]))]).toThrow(/field number 0/);
    // A length larger than 2^32 must not be trusted.
    expect(() => [...readFields(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1]))]).toThrow(/claims/);
  });
});
