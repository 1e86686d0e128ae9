/**
 * SLERP of two models, per tensor (mergekit `slerp`): the CPU merge and the coefficient
 * math the GPU twin (src/kernels/slerp) shares.
 *
 * Each tensor is one flat vector. As mergekit's slerp() does, the angle comes from
 * normalized copies, Ω = arccos(â·b̂), and the weights apply to the ORIGINAL vectors:
 *
 *   out = sin((1 − t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b       (t = 0 → a, t = 1 → b)
 *
 * so norms are interpolated too (not projected onto the sphere). Matched on purpose:
 * - colinear fallback: |cos Ω| > 0.9995 (mergekit's DOT_THRESHOLD, about 1.8°; also for
 *   anti-parallel tensors) uses lerp (1 − t)·a + t·b;
 * - mergekit's sin(Ω − Ω·t) form, so t = 0 and t = 1 give weights exactly (1, 0), (0, 1);
 * - `a` is mergekit's base_model side (t = 0 returns it).
 * Deliberately different:
 * - a tensor with norm ≤ 1e-8 falls back to lerp; mergekit leaves it unnormalized,
 *   gets cos ≈ 0 and returns ≈ cos(tπ/2)·a + sin(tπ/2)·b, an arbitrary 90° arc;
 * - dot and norms are accumulated in float64 (mergekit: float32 numpy), cos is clamped
 *   to [−1, 1], and t must lie in [0, 1] (mergekit does not check).
 * The weights are computed in float64, then applied as two f32 scale-add passes
 * (out = wA·a; out += wB·b), the same passes the GPU twin encodes. Where WebAssembly SIMD
 * is available both passes run fused in staged-merges/staged-merges.wasm.ts, with the same bits.
 * Pure module: typed arrays in, typed arrays and plain objects out.
 */
import { stagedMerges } from '../staged-merges/staged-merges.wasm';
import { dotNormsWith, type DotNorms } from '../dot-norms/dot-norms.cpu';
import { scaleAddCpu, validateScaleAdd } from '../scale-add/scale-add.cpu';

/** |cos Ω| above this counts as colinear (mergekit's DOT_THRESHOLD). */
export const SLERP_DOT_THRESHOLD = 0.9995;
/** Norms at or below this count as zero (mergekit's normalize eps). */
export const SLERP_NORM_EPS = 1e-8;

export class SlerpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlerpError';
  }
}

export interface SlerpParams {
  /** Interpolation factor in [0, 1]: 0 gives a, 1 gives b. */
  t: number;
  /** Default SLERP_DOT_THRESHOLD. */
  dotThreshold?: number;
  /** Default SLERP_NORM_EPS. */
  normEps?: number;
}

export interface SlerpCoefficients {
  /** out = weightA·a + weightB·b */
  weightA: number;
  weightB: number;
  mode: 'slerp' | 'lerp';
  /** Why lerp was used; null for slerp. */
  fallback: 'colinear' | 'zero-norm' | null;
  /** cos Ω; null when a norm is zero (no angle). */
  cosine: number | null;
  /** Ω in radians; null when a norm is zero. */
  angle: number | null;
}

export function validateSlerpParams(params: SlerpParams): void {
  const { t, dotThreshold = SLERP_DOT_THRESHOLD, normEps = SLERP_NORM_EPS } = params;
  if (!(t >= 0 && t <= 1)) throw new SlerpError(`slerp.ts: t must lie in [0, 1], got ${t}`);
  if (!(dotThreshold >= 0 && dotThreshold < 1)) throw new SlerpError(`slerp.ts: dotThreshold must lie in [0, 1), got ${dotThreshold}`);
  if (!(normEps >= 0 && Number.isFinite(normEps))) throw new SlerpError(`slerp.ts: normEps must be finite and ≥ 0, got ${normEps}`);
}

/** The two weights from the tensors' dot product and squared norms (x = a, y = b). */
export function slerpCoefficients(stats: DotNorms, params: SlerpParams): SlerpCoefficients {
  validateSlerpParams(params);
  const { t, dotThreshold = SLERP_DOT_THRESHOLD, normEps = SLERP_NORM_EPS } = params;
  const { dot, normSqX, normSqY } = stats;
  if (!Number.isFinite(dot) || !Number.isFinite(normSqX) || !Number.isFinite(normSqY)) {
    throw new SlerpError(`slerp.ts: dot/norms are not finite (dot ${dot}, ‖a‖² ${normSqX}, ‖b‖² ${normSqY}): NaN or Inf in the weights, or an f32 overflow`);
  }
  const lerp = { weightA: 1 - t, weightB: t, mode: 'lerp' as const };
  const normA = Math.sqrt(normSqX);
  const normB = Math.sqrt(normSqY);
  if (normA <= normEps || normB <= normEps) return { ...lerp, fallback: 'zero-norm', cosine: null, angle: null };
  const cosine = Math.min(1, Math.max(-1, dot / (normA * normB)));
  const angle = Math.acos(cosine);
  if (Math.abs(cosine) > dotThreshold) return { ...lerp, fallback: 'colinear', cosine, angle };
  const sinAngle = Math.sin(angle);
  return {
    weightA: Math.sin(angle - angle * t) / sinAngle,
    weightB: Math.sin(angle * t) / sinAngle,
    mode: 'slerp',
    fallback: null,
    cosine,
    angle,
  };
}

export interface SlerpResult {
  out: Float32Array;
  coefficients: SlerpCoefficients;
}

/** SLERP of one tensor pair; out (optional) must not be a or b. */
export function slerp(a: Float32Array, b: Float32Array, params: SlerpParams, out?: Float32Array): SlerpResult {
  return slerpWith(a, b, params, out, true);
}

/** slerp; useWasm false keeps every loop in TypeScript (the tests compare both paths). */
export function slerpWith(a: Float32Array, b: Float32Array, params: SlerpParams, out: Float32Array | undefined, useWasm: boolean): SlerpResult {
  validateSlerpParams(params);
  if (a.length !== b.length) throw new SlerpError(`slerp.ts: tensor lengths differ (a ${a.length}, b ${b.length})`);
  const target = out ?? new Float32Array(a.length);
  if (target.length !== a.length) throw new SlerpError(`slerp.ts: out holds ${target.length} floats, expected ${a.length}`);
  if (target === a || target === b) throw new SlerpError('slerp.ts: out must be a different array from a and b');
  const staged = useWasm ? stagedMerges(a.length) : null;
  const coefficients = slerpCoefficients(dotNormsWith(a, b, null, useWasm), params);
  if (staged) {
    validateScaleAdd(0, coefficients.weightA);
    validateScaleAdd(1, coefficients.weightB);
    staged.weightedSum(target, [a, b], [Math.fround(coefficients.weightA), Math.fround(coefficients.weightB)]);
  } else {
    scaleAddCpu(target, a, 0, coefficients.weightA);
    scaleAddCpu(target, b, 1, coefficients.weightB);
  }
  return { out: target, coefficients };
}
