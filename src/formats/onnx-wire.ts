// Minimal protobuf wire-format reader and writer for ONNX models.
// We walk the wire format directly instead of using a generated protobuf library:
// generated ONNX bindings drop fields newer than their .proto on re-encode and turn
// int64 into Long objects, while rewriting a model (weights → inputs) must keep every
// byte it does not understand. Fields are returned as byte ranges into the caller's
// buffer, so nothing is copied. Every length is bounds-checked before use, and
// truncated or malformed input throws ProtobufWireError with the byte offset.

import { ProtobufWireError } from './errors';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface WireField {
  /** Field number. */
  num: number;
  /** Wire type (WIRE_*). */
  type: number;
  /** Offset of the tag (start of the whole field). */
  tagStart: number;
  /** Offset of the payload: the varint, the fixed bytes, or the LEN content. */
  start: number;
  /** End of the field (exclusive). */
  end: number;
  /** Varint value as an unsigned 64-bit number (exact up to 2^53); 0 for other types. */
  value: number;
  /** Varint value read as two's-complement int64 (exact for |v| ≤ 2^53). */
  signed: number;
}

const TWO_32 = 0x1_0000_0000;

/** Read a varint at `pos`; returns [lo32, hi32, next position]. */
function readVarintParts(bytes: Uint8Array, pos: number, end: number): [number, number, number] {
  let lo = 0;
  let hi = 0;
  const start = pos;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new ProtobufWireError(`truncated protobuf at byte ${pos}`, pos);
    const b = bytes[pos++]!;
    const shift = 7 * i;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0, pos];
  }
  throw new ProtobufWireError(`malformed varint at byte ${start} (longer than 10 bytes)`, start);
}

/** Read an unsigned varint (exact up to 2^53) at `pos`; returns [value, next position]. */
export function readVarint(bytes: Uint8Array, pos: number, end: number = bytes.length): [number, number] {
  const [lo, hi, next] = readVarintParts(bytes, pos, end);
  return [hi * TWO_32 + lo, next];
}

/**
 * Iterate the fields of one message occupying bytes[start, end). Throws on truncation,
 * unsupported group wire types, and field number 0.
 */
export function* readFields(bytes: Uint8Array, start = 0, end: number = bytes.length): Generator<WireField> {
  if (end > bytes.length || start < 0 || start > end) {
    throw new ProtobufWireError(`message range [${start}, ${end}) lies outside ${bytes.length} bytes`, start);
  }
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    const [tagLo, tagHi, afterTag] = readVarintParts(bytes, pos, end);
    const tag = tagHi * TWO_32 + tagLo;
    const type = tagLo & 7;
    const num = Math.floor(tag / 8);
    if (num === 0 || num > 0x1fffffff) throw new ProtobufWireError(`invalid field number ${num} at byte ${tagStart}`, tagStart);
    pos = afterTag;
    let value = 0;
    let signed = 0;
    let payloadStart = pos;
    switch (type) {
      case WIRE_VARINT: {
        const [lo, hi, next] = readVarintParts(bytes, pos, end);
        value = hi * TWO_32 + lo;
        signed = (hi | 0) * TWO_32 + lo;
        pos = next;
        break;
      }
      case WIRE_FIXED64:
        pos += 8;
        break;
      case WIRE_FIXED32:
        pos += 4;
        break;
      case WIRE_LEN: {
        const [len, next] = readVarint(bytes, pos, end);
        payloadStart = next;
        if (len > end - next) {
          throw new ProtobufWireError(
            `truncated protobuf at byte ${tagStart}: field ${num} claims ${len} bytes, ${end - next} remain`,
            tagStart,
          );
        }
        pos = next + len;
        break;
      }
      default:
        throw new ProtobufWireError(`unsupported wire type ${type} for field ${num} at byte ${tagStart}`, tagStart);
    }
    if (pos > end) throw new ProtobufWireError(`truncated protobuf at byte ${tagStart}`, tagStart);
    yield { num, type, tagStart, start: payloadStart, end: pos, value, signed };
  }
}

/** UTF-8 text of a LEN field. */
const utf8 = new TextDecoder();
export function fieldString(bytes: Uint8Array, f: WireField): string {
  return utf8.decode(bytes.subarray(f.start, f.end));
}

/**
 * Append the values of a repeated varint field (packed LEN or a single unpacked
 * varint) to `out`, read as int64.
 */
export function pushVarints(bytes: Uint8Array, f: WireField, out: number[]): void {
  if (f.type === WIRE_VARINT) {
    out.push(f.signed);
    return;
  }
  if (f.type !== WIRE_LEN) throw new ProtobufWireError(`field ${f.num} at byte ${f.tagStart} should be varints`, f.tagStart);
  let pos = f.start;
  while (pos < f.end) {
    const [lo, hi, next] = readVarintParts(bytes, pos, f.end);
    out.push((hi | 0) * TWO_32 + lo);
    pos = next;
  }
}

/** Encodes protobuf messages into a list of chunks joined once by finish(). */
export class WireWriter {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  private size = 0;

  get length(): number {
    this.flushScratch();
    return this.size;
  }

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.size += this.scratch.length;
    this.scratch = [];
  }

  /** Raw varint (no tag). Negative numbers are written as 10-byte two's complement. */
  varint(value: number): this {
    if (!Number.isInteger(value)) throw new RangeError(`varint ${value} is not an integer`);
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.scratch.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.scratch.push(Number(v));
      return this;
    }
    let v = value;
    while (v >= 0x80) {
      this.scratch.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.scratch.push(v);
    return this;
  }

  tag(num: number, type: number): this {
    return this.varint(num * 8 + type);
  }

  /** Append bytes verbatim (not copied until finish()). */
  raw(bytes: Uint8Array): this {
    this.flushScratch();
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.size += bytes.length;
    }
    return this;
  }

  varintField(num: number, value: number): this {
    return this.tag(num, WIRE_VARINT).varint(value);
  }

  bytesField(num: number, bytes: Uint8Array): this {
    return this.tag(num, WIRE_LEN).varint(bytes.length).raw(bytes);
  }

  stringField(num: number, s: string): this {
    return this.bytesField(num, new TextEncoder().encode(s));
  }

  /** A nested message; a WireWriter's chunks are appended without joining them first. */
  messageField(num: number, message: WireWriter | Uint8Array): this {
    if (message instanceof Uint8Array) return this.bytesField(num, message);
    this.tag(num, WIRE_LEN).varint(message.length).flushScratch();
    for (const c of message.chunks) this.chunks.push(c);
    this.size += message.size;
    return this;
  }

  /** Packed repeated varints (e.g. int64 dims). */
  packedVarints(num: number, values: readonly number[]): this {
    const inner = new WireWriter();
    for (const v of values) inner.varint(v);
    return this.messageField(num, inner);
  }

  /** Packed repeated float (fixed32, little-endian). */
  packedFloats(num: number, values: Float32Array): this {
    const copy = new Float32Array(values);
    return this.bytesField(num, new Uint8Array(copy.buffer));
  }

  /** A single unpacked float (wire type fixed32). */
  floatField(num: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.tag(num, WIRE_FIXED32).raw(b);
  }

  /** Join everything into one new buffer (never a view of bytes given to raw()). */
  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}
