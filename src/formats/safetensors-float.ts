// Conversions between safetensors dtypes and float32: any stored dtype decoded to a fresh
// Float32Array (what the merge works on), and float32 encoded to float16 / bfloat16 bits
// (what the writer stores). Pure logic on typed arrays; imports ./safetensors-format and
// the reader's tensor type.
// Assumes a little-endian host (every browser and Node platform we target).

import { SAFETENSORS_DTYPE_SIZE } from './safetensors-format';
import type { SafetensorsTensor } from './safetensors-read';

/** Typed-array view of `data` when aligned, else of an aligned copy. */
function aligned<T>(data: Uint8Array, size: number, make: (buf: ArrayBufferLike, off: number, len: number) => T): T {
  const count = data.byteLength / size;
  if (data.byteOffset % size === 0) return make(data.buffer, data.byteOffset, count);
  return make(data.slice().buffer, 0, count);
}

let f16Table: Float32Array | null = null;

/** All 65536 half-precision values, built once (256 KB) so decoding is a lookup. */
function float16Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) table[h] = sign * m * 2 ** -24;
    else if (e === 31) bits[h] = ((h & 0x8000) << 16) | 0x7f800000 | (m << 13); // inf, NaN payload kept
    else table[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  f16Table = table;
  return table;
}

/** float8 e4m3 "fn" (torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN. */
function decodeF8E4M3(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 0xf;
  const m = b & 7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (1 + m / 8) * 2 ** (e - 7);
}

/**
 * Convert any supported dtype to a fresh Float32Array (never a view of the file, so
 * callers may keep or mutate it). Integers beyond 2^24 round to the nearest float32.
 */
export function tensorToFloat32(t: SafetensorsTensor): Float32Array {
  const d = t.data;
  const n = d.byteLength / SAFETENSORS_DTYPE_SIZE[t.dtype];
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      new Uint8Array(out.buffer).set(d);
      return out;
    case 'F16': {
      const table = float16Table();
      const src = aligned(d, 2, (b, o, l) => new Uint16Array(b, o, l));
      for (let i = 0; i < n; i++) out[i] = table[src[i]!]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32.
      const src = aligned(d, 2, (b, o, l) => new Uint16Array(b, o, l));
      const dst = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
      return out;
    }
    case 'F64':
      out.set(aligned(d, 8, (b, o, l) => new Float64Array(b, o, l)));
      return out;
    case 'F8_E4M3':
      for (let i = 0; i < n; i++) out[i] = decodeF8E4M3(d[i]!);
      return out;
    case 'F8_E5M2': {
      // e5m2 is the upper byte of a float16.
      const table = float16Table();
      for (let i = 0; i < n; i++) out[i] = table[d[i]! << 8]!;
      return out;
    }
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = d[i] ? 1 : 0;
      return out;
    case 'U8':
      out.set(d);
      return out;
    case 'I8':
      out.set(new Int8Array(d.buffer, d.byteOffset, n));
      return out;
    case 'I16':
      out.set(aligned(d, 2, (b, o, l) => new Int16Array(b, o, l)));
      return out;
    case 'U16':
      out.set(aligned(d, 2, (b, o, l) => new Uint16Array(b, o, l)));
      return out;
    case 'I32':
      out.set(aligned(d, 4, (b, o, l) => new Int32Array(b, o, l)));
      return out;
    case 'U32':
      out.set(aligned(d, 4, (b, o, l) => new Uint32Array(b, o, l)));
      return out;
    case 'I64':
    case 'U64': {
      // hi·2^32 + lo in float64 is exact below 2^53, avoiding a BigInt per element.
      const words = aligned(d, 4, (b, o, l) => new Uint32Array(b, o, l));
      const signed = t.dtype === 'I64';
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i]!;
        const hi = words[2 * i + 1]!;
        out[i] = (signed ? hi | 0 : hi) * 0x1_0000_0000 + lo;
      }
      return out;
    }
  }
}

/** float32 → float16 bits, round to nearest even; overflow → ±inf, NaN stays NaN. */
export function encodeFloat16(values: Float32Array): Uint16Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 112; // rebias 127 → 15
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e >= 1) {
      // A rounding carry out of the mantissa correctly bumps the exponent (up to inf).
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    } else {
      // Half subnormal: value = m · 2^-24 with m = full mantissa >> (14 - e).
      const shift = 14 - e;
      if (shift > 24) {
        out[i] = sign;
      } else {
        const full = mant | 0x800000;
        let m = full >>> shift;
        const rem = full & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rem > half || (rem === half && m & 1)) m++;
        out[i] = sign | m;
      }
    }
  }
  return out;
}

/** float32 → bfloat16 bits, round to nearest even; NaN stays (quiet) NaN. */
export function encodeBFloat16(values: Float32Array): Uint16Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) {
      out[i] = (x >>> 16) | 0x40;
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}
