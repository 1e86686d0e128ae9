/**
 * Test helper for the fast paths: float arrays compared bit for bit, naming the first
 * element that differs. Imported by *.test.ts only.
 */
import { expect } from 'vitest';

const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

export function expectSameBits(got: Float32Array, want: Float32Array, label: string): void {
  const [x, y] = [bits(got), bits(want)];
  expect(x.length, label).toBe(y.length);
  for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) expect(`${label}: float ${j}: ${got[j]} (0x${x[j]!.toString(16)})`).toBe(`${want[j]} (0x${y[j]!.toString(16)})`);
}

/** Sizes around the staged kernels' 4-lane loops, 16384-float blocks and 262144-float output pieces (4096 and up take the staged path). */
export const STAGED_TEST_SIZES = [5, 4099, 16387, 262144 + 16384 + 5];
