/**
 * DE step (mutation + binomial crossover), CPU twin of de-step.wgsl.ts.
 *
 *   v_j = b_j + F·(p_j − m_j)                 (base b, difference p − m)
 *   u_j = v_j if randomUnit(seed, stream, g) < CR or g = jRand, else x_j (the target)
 *
 * The variants are choices of (b, p, m): the Evolver's interpolation toward a peer d is
 * (x, d, x), so v = x + F·(d − x) and equal x and d give exactly x; DE/rand/1 is
 * (x_r1, x_r2, x_r3); DE/best/1 is (x_best, x_r1, x_r2).
 *
 * g = offset + j is the element's index in the individual's flattened parameter
 * vector, so the result does not depend on how the parameters are cut into tensors.
 * Arithmetic is f32 (Math.fround at each step; f64 then f32 rounding of one +, −, ×
 * equals the f32 operation). The GPU may fuse x + F·(d − x) into an FMA: values agree
 * to ~1 ulp, the crossover mask agrees exactly (integer comparison on both sides).
 *
 * This loop is the real CPU path for whole models: one pass, hash inlined, no calls
 * or allocation per element. out may alias any input (each element is read before it
 * is written).
 * Pure module: typed arrays in, typed arrays out.
 */
import { KernelParamsError } from '../errors';
import { probabilityThreshold, RNG_MIX_M1, RNG_MIX_M2, rngKey } from '../rng/rng.cpu';

export interface DeStepParams {
  /** Mutation factor F (f32). */
  f: number;
  /** Crossover rate CR in [0, 1]. */
  cr: number;
  seed: number;
  stream: number;
  /** Index of this tensor's first element in the individual's flattened vector. */
  offset: number;
  /** Global index that always takes the mutant (guarantees a change), or -1 for none. */
  jRand: number;
}

/** Largest global index + 1: 0xffffffff encodes "no jRand" on the GPU. */
export const DE_STEP_MAX_GLOBAL_INDEX = 0xffff_fffe;

/** Checks shared by both twins; returns the GPU's u32 encoding of jRand. */
export function validateDeStep(elementCount: number, params: DeStepParams): number {
  const { offset, jRand, f, cr } = params;
  if (!Number.isInteger(offset) || offset < 0 || offset + elementCount > DE_STEP_MAX_GLOBAL_INDEX + 1) {
    throw new KernelParamsError(
      `de-step: offset ${offset} + ${elementCount} elements must lie in [0, 2^32 − 1) (u32 global index)`,
    );
  }
  if (!Number.isInteger(jRand) || jRand < -1 || jRand > DE_STEP_MAX_GLOBAL_INDEX) {
    throw new KernelParamsError(`de-step: jRand must be -1 or a global index in [0, 2^32 − 1), got ${jRand}`);
  }
  if (!Number.isFinite(f)) throw new KernelParamsError(`de-step: F must be finite, got ${f}`);
  if (Number.isNaN(cr)) throw new KernelParamsError('de-step: CR is NaN');
  return jRand === -1 ? 0xffff_ffff : jRand;
}

/** The roles in one trial: crossover between target and the mutant base + F·(plus − minus). */
export interface DeRoles<T> {
  target: T;
  base: T;
  plus: T;
  minus: T;
}

export type DeVectors = DeRoles<Float32Array>;

/** The Evolver's mutation: interpolation from the parent toward a donor, v = x + F·(d − x). */
export function interpolationVectors<T>(parent: T, donor: T): DeRoles<T> {
  return { target: parent, base: parent, plus: donor, minus: parent };
}

export function deTrialCpu(vectors: DeVectors, out: Float32Array, params: DeStepParams): void {
  const { target, base, plus, minus } = vectors;
  const n = out.length;
  if (target.length !== n || base.length !== n || plus.length !== n || minus.length !== n) {
    throw new KernelParamsError(
      `de-step.cpu.ts: lengths differ (target ${target.length}, base ${base.length}, plus ${plus.length}, minus ${minus.length}, out ${n})`,
    );
  }
  validateDeStep(n, params);
  const f = Math.fround(params.f);
  const threshold = probabilityThreshold(params.cr);
  const offset = params.offset;
  const local = params.jRand < 0 ? -1 : params.jRand - offset;
  const hasJRand = local >= 0 && local < n;
  // Saved before the loop: with out aliasing an input the loop may overwrite them.
  const mutantJ = hasJRand ? base[local]! + Math.fround(f * Math.fround(plus[local]! - minus[local]!)) : 0;

  if (threshold === 0) {
    if (out !== target) out.set(target);
  } else if (threshold >= 1 << 24) {
    for (let j = 0; j < n; j++) out[j] = base[j]! + Math.fround(f * Math.fround(plus[j]! - minus[j]!));
  } else {
    // The crossover select is done on bit patterns, without a branch: at CR = 0.5 a
    // branch mispredicts half the time, which tripled the loop's cost. Bits also keep
    // unselected elements exact (−0, ±Inf, NaN payloads), as the GPU's select does.
    const targetBits = new Int32Array(target.buffer, target.byteOffset, n);
    const outBits = new Int32Array(out.buffer, out.byteOffset, n);
    const [k0, k1] = rngKey(params.seed, params.stream);
    const m1 = RNG_MIX_M1;
    const m2 = RNG_MIX_M2;
    for (let j = 0; j < n; j++) {
      // randomU32Keyed(k0, k1, offset + j), inlined (see rng.cpu.ts).
      let h = (offset + j) ^ k0;
      h ^= h >>> 16;
      h = Math.imul(h, m1);
      h ^= h >>> 15;
      h = Math.imul(h, m2);
      h ^= h >>> 16;
      h = (h + k1) | 0;
      h ^= h >>> 16;
      h = Math.imul(h, m1);
      h ^= h >>> 15;
      h = Math.imul(h, m2);
      h ^= h >>> 16;
      // All ones when (h >>> 8) < threshold (both < 2^25, so the difference cannot overflow).
      const take = ((h >>> 8) - threshold) >> 31;
      const xBits = targetBits[j]!;
      out[j] = base[j]! + Math.fround(f * Math.fround(plus[j]! - minus[j]!));
      outBits[j] = xBits ^ ((xBits ^ outBits[j]!) & take);
    }
  }
  if (hasJRand) out[local] = mutantJ;
}

/** The Evolver's step: out ← crossover(parent, parent + F·(donor − parent)). */
export function deStepCpu(parent: Float32Array, donor: Float32Array, out: Float32Array, params: DeStepParams): void {
  deTrialCpu(interpolationVectors(parent, donor), out, params);
}
