/**
 * Test-only helpers: a small seeded PRNG so failing tests reproduce, and seeded
 * float inputs built on it. Imported by *.test.ts only; no app code depends on it.
 * (Kernel tests draw from the counter-based CounterRng in src/kernels/testing.ts
 * instead, because the GPU twins must produce the same stream.)
 */

/** mulberry32: uniform floats in [0, 1), a pure function of the seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n floats uniform in [lo, hi), one mulberry32 draw each from a fresh stream for seed. */
export function randomFloats(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + r() * (hi - lo));
}
