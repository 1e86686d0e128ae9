/**
 * Counter-based random numbers shared bit-exactly by TypeScript and WGSL.
 *
 * A draw is a pure function of (seed, stream, counter): no state to carry between
 * GPU invocations, and the CPU twin of a kernel reproduces the GPU's choices exactly.
 * The mixer is two keyed rounds of the "lowbias32" integer hash (Chris Wellons'
 * hash-prospector); only u32 wrap-around multiply, xor and logical shift are used,
 * which WGSL's u32 arithmetic and Math.imul / >>> compute identically.
 *
 * All three inputs are taken modulo 2^32 (ToUint32), as the GPU's u32 uniforms are.
 * Pure module: no imports, no DOM, no GPU.
 */

/** Multipliers and salts of the mixer; rng.wgsl.ts builds its WGSL constants from these. */
export const RNG_MIX_M1 = 0x7feb352d;
export const RNG_MIX_M2 = 0x846ca68b;
export const RNG_SEED_SALT = 0x9e3779b9;
export const RNG_KEY_SALT = 0x85ebca6b;
/** randomUnit keeps the top 24 bits: every value is an exact f32 in [0, 1). */
export const RNG_UNIT_BITS = 24;
export const RNG_UNIT_SCALE = 1 / 16777216; // 2^-24

/** lowbias32: a bijection on u32 with low avalanche bias. */
export function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, RNG_MIX_M1);
  x ^= x >>> 15;
  x = Math.imul(x, RNG_MIX_M2);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The per-(seed, stream) key. Kernels compute it once per call (host side) and pass
 * it to the GPU so that each element costs two hash rounds, not four.
 */
export function rngKey(seed: number, stream: number): [number, number] {
  const k0 = mix32(mix32(seed ^ RNG_SEED_SALT) ^ stream);
  const k1 = mix32(k0 ^ RNG_KEY_SALT);
  return [k0, k1];
}

/** The draw for one counter under a key from rngKey. */
export function randomU32Keyed(key0: number, key1: number, counter: number): number {
  return mix32(mix32(counter ^ key0) + key1);
}

export function randomU32(seed: number, stream: number, counter: number): number {
  const [k0, k1] = rngKey(seed, stream);
  return randomU32Keyed(k0, k1, counter);
}

/** Uniform in [0, 1) with 24-bit resolution; exactly representable in f32. */
export function randomUnit(seed: number, stream: number, counter: number): number {
  return (randomU32(seed, stream, counter) >>> 8) * RNG_UNIT_SCALE;
}

/**
 * Integer threshold t such that `randomUnit(...) < p` is exactly `(randomU32(...) >>> 8) < t`.
 * Kernels compare integers so the CPU (f64 p) and the GPU (no f32 rounding of p) agree.
 */
export function probabilityThreshold(p: number): number {
  if (!(p > 0)) return 0; // also NaN
  if (p >= 1) return 1 << RNG_UNIT_BITS;
  return Math.ceil(p * (1 << RNG_UNIT_BITS));
}

export class RngRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RngRangeError';
  }
}

const TWO_POW_32 = 4294967296;

/**
 * Seeded host-side generator for the engine's own choices (visit order, peers).
 * Draw i is randomU32(seed, stream, i), so a run can be replayed from (seed, stream)
 * and any position can be reproduced without replaying the ones before it.
 */
export class CounterRng {
  readonly seed: number;
  readonly stream: number;
  private readonly key0: number;
  private readonly key1: number;
  /** Next counter to use; wraps after 2^32 draws. */
  counter = 0;

  constructor(seed: number, stream: number) {
    this.seed = seed >>> 0;
    this.stream = stream >>> 0;
    [this.key0, this.key1] = rngKey(this.seed, this.stream);
  }

  nextU32(): number {
    const value = randomU32Keyed(this.key0, this.key1, this.counter);
    this.counter = (this.counter + 1) >>> 0;
    return value;
  }

  /** Uniform in [0, 1) with 24-bit resolution, same as the WGSL random_unit. */
  nextUnit(): number {
    return (this.nextU32() >>> 8) * RNG_UNIT_SCALE;
  }

  /** Uniform integer in [0, n), unbiased (rejects the short top range); 1 ≤ n ≤ 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RngRangeError(`rng.cpu.ts: nextInt(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const value = this.nextU32();
      if (value < limit) return value % n;
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new RngRangeError(`rng.cpu.ts: permutation(n) needs an integer n ≥ 0, got ${n}`);
    }
    const result = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = result[i]!;
      result[i] = result[j]!;
      result[j] = tmp;
    }
    return result;
  }
}
