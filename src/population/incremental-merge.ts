/**
 * Incremental merges for the Evolver's with-merger mode on the CPU path. The methods whose
 * merge is linear in each model — linear (out = s·Σ w_i θ_i) and task arithmetic
 * (out = base + s·Σ w_i (θ_i − base), s = λ or λ/Σw) — change by k_t·(c − θ_t) when the
 * candidate c stands in for individual t, with k_t = s·w_t per tensor. So the merged set is the
 * population's merge M plus that difference: 3 reads and 1 write per element instead of N + 1.
 *
 * Not bit-identical to a re-merge: the kernels sum the models' f32 terms left to right, and
 * f32 addition does not associate, so M + k_t·(c − θ_t) can round differently from the
 * re-merged sum. The rules that bound the difference:
 * - M is always a full re-merge of the current population (re-merged on every accepted
 *   offspring and on merge(null)), never itself an incremental result, so errors do not compound;
 * - every scored merge is one update away from a full re-merge: |Δ| ≤ incrementalErrorBound
 *   per element (held by incremental-merge.test.ts);
 * - only with at least INCREMENTAL_MIN_MODELS individuals, where it reads fewer vectors.
 * Every other method re-merges: their merge is not linear in one model (TIES and DARE trim
 * by magnitude or sign across models, SLERP, model stock and the Karcher mean normalise by
 * norms and angles, RegMean and Fisher solve with every model's statistics).
 * Pure module: typed arrays and plain objects.
 */
import type { ParameterLayout } from '../merge/layout';
import { linearMergePlan, type LinearMergePlan } from '../merge/linear-plan';
import type { MergeParams } from '../protocol/settings';

export { linearMergePlan, type LinearMergePlan };

/** Below this many individuals a re-merge reads no more than the update does (N + 1 ≤ 4 vectors). */
export const INCREMENTAL_MIN_MODELS = 4;


/** f32 unit roundoff. */
const U = 2 ** -24;

export class IncrementalLinearUpdate {
  private constructor(
    private readonly layout: ParameterLayout,
    /** k[slot · n + i]: the f32 factor of model i's change in that tensor. */
    private readonly k: Float32Array,
    readonly modelCount: number,
    readonly plan: LinearMergePlan,
  ) {}

  /**
   * The update for this merge, or null where a re-merge is needed: another method, data-aware
   * inputs, too few individuals, or task arithmetic without a base.
   */
  static for(params: MergeParams, layout: ParameterLayout, modelCount: number, hasBase: boolean, inputs: unknown = null): IncrementalLinearUpdate | null {
    const plan = linearMergePlan(params, layout, modelCount, hasBase, inputs);
    return plan && modelCount >= INCREMENTAL_MIN_MODELS ? IncrementalLinearUpdate.fromPlan(plan, layout) : null;
  }

  static fromPlan(plan: LinearMergePlan, layout: ParameterLayout): IncrementalLinearUpdate {
    const n = plan.modelCount;
    const k = new Float32Array(layout.slots.length * n);
    layout.slots.forEach((_, s) => {
      for (let i = 0; i < n; i++) k[s * n + i] = plan.scales[s]! * plan.weights[s]![i]!;
    });
    return new IncrementalLinearUpdate(layout, k, n, plan);
  }

  /** The f32 factor of model t's change in tensor `slot`. */
  factor(slot: number, t: number): number {
    return this.k[slot * this.modelCount + t]!;
  }

  /** out ← current + k_t·(candidate − replaced), tensor by tensor; out may alias current. */
  apply(out: Float32Array, current: Float32Array, candidate: Float32Array, replaced: Float32Array, t: number): void {
    const n = this.modelCount;
    this.layout.slots.forEach((slot, s) => {
      const k = this.k[s * n + t]!;
      const end = slot.offset + slot.size;
      for (let j = slot.offset; j < end; j++) out[j] = current[j]! + Math.fround(k * Math.fround(candidate[j]! - replaced[j]!));
    });
  }

  /**
   * Per element, the most |incremental − re-merge| may be: both are within f32 rounding of the
   * exact merge. A left-to-right f32 sum of N terms errs by ≤ (N − 1)·u·Σ|terms|, each term
   * w_i·x by u·|term|, the scale and the base by u·|result| each (twice: before and after); the
   * update adds 3 roundings of ≤ u·max(|M|, |k·d|). With terms from both populations (before and
   * after the replacement): |Δ| ≤ (N + 4)·u·(Σ_i |k_i|·(|x_i| + |x'_i|) + 2|base|) + 3u·(|M| + |k·d|),
   * up to a factor (1 + O(N·u)) covered by the doubling below.
   */
  errorBound(individuals: readonly Float32Array[], candidate: Float32Array, t: number, base: Float32Array | null, current: Float32Array, j: number, slot: number): number {
    const n = this.modelCount;
    let terms = 0;
    for (let i = 0; i < n; i++) {
      const k = Math.abs(this.k[slot * n + i]!);
      const x = Math.abs(individuals[i]![j]! - (base ? base[j]! : 0));
      const x2 = i === t ? Math.abs(candidate[j]! - (base ? base[j]! : 0)) : x;
      terms += k * (x + x2);
    }
    const b = base ? Math.abs(base[j]!) : 0;
    const d = Math.abs(this.k[slot * n + t]! * (candidate[j]! - individuals[t]![j]!));
    return 2 * ((n + 4) * U * (terms + 2 * b) + 3 * U * (Math.abs(current[j]!) + d));
  }
}
