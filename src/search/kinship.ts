/**
 * Model kinship (Hu et al. 2024): similarity of two fine-tuned models measured on their
 * task vectors δ = θ − θ_ref, where θ_ref is the base checkpoint when one is marked,
 * else the population mean (the report says which).
 * - Pearson correlation of δ_a and δ_b
 * - cosine similarity of δ_a and δ_b (signed; the reference code reports |cos|)
 * - Euclidean distance ‖δ_a − δ_b‖ = ‖θ_a − θ_b‖
 * Per tensor the kernels give additive moments (kernels/kinship); this module adds them
 * per layer and over all merged parameters in float64 and turns them into metrics.
 * A metric with a zero-variance side (a model identical to the reference) is NaN.
 * Pure logic.
 */
import { addMoments, ZERO_MOMENTS, type KinshipMoments } from '../kernels/kinship/kinship.cpu';
import type { ParameterLayout } from '../merge/layout';
import { type KinshipMetrics, type KinshipMetricName, type KinshipReport } from '../protocol/results';

export function kinshipMetrics(m: KinshipMoments): KinshipMetrics {
  const { n } = m;
  const covariance = m.sumAB - (m.sumA * m.sumB) / n;
  const varianceA = m.sumAA - (m.sumA * m.sumA) / n;
  const varianceB = m.sumBB - (m.sumB * m.sumB) / n;
  const pearson = varianceA > 0 && varianceB > 0 ? covariance / Math.sqrt(varianceA * varianceB) : NaN;
  const cosine = m.sumAA > 0 && m.sumBB > 0 ? m.sumAB / Math.sqrt(m.sumAA * m.sumBB) : NaN;
  return { pearson: clampUnit(pearson), cosine: clampUnit(cosine), euclidean: Math.sqrt(Math.max(0, m.sumDD)) };
}

/** Rounding can push a correlation of identical vectors a hair past ±1. */
function clampUnit(v: number): number {
  return Number.isNaN(v) ? v : Math.max(-1, Math.min(1, v));
}

const SELF: KinshipMetrics = Object.freeze({ pearson: 1, cosine: 1, euclidean: 0 });

/** Every unordered pair (i < j) of count models, in the order the moments arrive. */
export function kinshipPairs(count: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < count; i++) for (let j = i + 1; j < count; j++) pairs.push([i, j]);
  return pairs;
}

function symmetric(count: number, pairs: readonly [number, number][], metrics: readonly KinshipMetrics[]): KinshipMetrics[][] {
  const matrix = Array.from({ length: count }, () => Array.from({ length: count }, () => SELF));
  pairs.forEach(([i, j], p) => {
    matrix[i]![j] = metrics[p]!;
    matrix[j]![i] = metrics[p]!;
  });
  return matrix;
}

/**
 * The report from per-pair, per-tensor moments: perPair[p][t] for pair p of
 * kinshipPairs(names.length) and tensor t of the layout.
 */
export function kinshipReport(
  names: readonly string[],
  layout: ParameterLayout,
  perPair: readonly (readonly KinshipMoments[])[],
  reference: KinshipReport['reference'],
): KinshipReport {
  const pairs = kinshipPairs(names.length);
  if (perPair.length !== pairs.length) throw new Error(`kinship.ts: ${perPair.length} pairs of moments for ${names.length} models`);
  const layerNames = [...new Set(layout.slots.map((s) => s.layer))];
  const sumOver = (moments: readonly KinshipMoments[], keep: (t: number) => boolean) =>
    moments.reduce((acc, m, t) => (keep(t) ? addMoments(acc, m) : acc), ZERO_MOMENTS);
  const overall = perPair.map((moments) => kinshipMetrics(sumOver(moments, () => true)));
  return {
    names: [...names],
    reference,
    overall: symmetric(names.length, pairs, overall),
    layers: layerNames.map((layer) => ({
      name: layer,
      matrix: symmetric(
        names.length,
        pairs,
        perPair.map((moments) => kinshipMetrics(sumOver(moments, (t) => layout.slots[t]!.layer === layer))),
      ),
    })),
  };
}

/** Mean of a metric over the off-diagonal pairs of some members (NaN entries skipped). */
export function meanPairwise(matrix: KinshipMetrics[][], metric: KinshipMetricName, members: readonly number[] = matrix.map((_, i) => i)): number {
  const values: number[] = [];
  for (let a = 0; a < members.length; a++) {
    for (let b = a + 1; b < members.length; b++) {
      const v = matrix[members[a]!]![members[b]!]![metric];
      if (!Number.isNaN(v)) values.push(v);
    }
  }
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}
