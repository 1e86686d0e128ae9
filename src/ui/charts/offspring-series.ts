/**
 * The run panel's per-offspring views, derived from the 'offspring' progress events the
 * store keeps (state/slices/run.ts offspringScores): acceptance rate per generation, the
 * scatter of every offspring's dev score (the task's primary metric), and the log of accepted
 * ones. Pure, no DOM.
 */
import type { OffspringReport } from '../../protocol/events';

export interface AcceptancePoint {
  generation: number;
  offspring: number;
  accepted: number;
  /** accepted / offspring; null for a generation not started yet (the bar is reserved, empty). */
  rate: number | null;
}

/** One point per generation 1..max(planned, seen), so the axis does not change as a run goes on. */
export function acceptanceByGeneration(records: readonly OffspringReport[], plannedGenerations: number): AcceptancePoint[] {
  const last = Math.max(plannedGenerations, ...records.map((r) => r.generation), 0);
  const points: AcceptancePoint[] = Array.from({ length: last }, (_, i) => ({ generation: i + 1, offspring: 0, accepted: 0, rate: null }));
  for (const r of records) {
    const point = points[r.generation - 1];
    if (!point) continue;
    point.offspring++;
    if (r.accepted) point.accepted++;
  }
  for (const p of points) if (p.offspring > 0) p.rate = p.accepted / p.offspring;
  return points;
}

export type ScatterAxis = 'generation' | 'individual';

export interface ScatterPoint {
  /** Position on the x axis: the generation (or individual), nudged so points do not overlap. */
  x: number;
  /** The offspring's primary metric. */
  score: number;
  generation: number;
  individual: number | null;
  index: number;
  accepted: boolean;
}

/** Half the width the points of one x position spread over (x ± SPREAD). */
const SPREAD = 0.3;

/** Where, within ±SPREAD, member `k` of `count` sits. */
function nudge(k: number, count: number): number {
  return count <= 1 ? 0 : -SPREAD + (2 * SPREAD * k) / (count - 1);
}

/**
 * By generation: x = generation, the offspring of one generation spread by individual
 * (Top-k's merges, which have none, by their position). By individual: x = the individual,
 * its offspring spread by generation. Top-k's merges have no individual and are left out there.
 */
export function scatterPoints(records: readonly OffspringReport[], axis: ScatterAxis, generations: number): ScatterPoint[] {
  const points: ScatterPoint[] = [];
  const lastGeneration = Math.max(generations, ...records.map((r) => r.generation), 1);
  for (const r of records) {
    const base = { score: r.score, generation: r.generation, individual: r.individual, index: r.index, accepted: r.accepted };
    if (axis === 'generation') {
      const slot = r.individual ?? r.index - 1;
      points.push({ ...base, x: r.generation + nudge(slot, r.perGeneration) });
    } else if (r.individual !== null) {
      points.push({ ...base, x: r.individual + nudge(r.generation - 1, lastGeneration) });
    }
  }
  return points;
}

export interface AcceptedEntry {
  generation: number;
  individual: number | null;
  index: number;
  score: number;
  /**
   * Change of the primary metric from what it had to beat (negative is a gain for a metric where
   * lower is better); 0 when it won on a tie-break alone; null when unknown.
   */
  improvement: number | null;
  /** How many times the slot has been replaced, this one included (1 for its first); 0 for Top-k's merges. */
  replacement: number;
}

/** The accepted offspring, newest first (the log shows the latest at the top). */
export function acceptedLog(records: readonly OffspringReport[]): AcceptedEntry[] {
  const replaced = new Map<number, number>();
  return records
    .filter((r) => r.accepted)
    .map((r) => {
      const replacement = r.individual === null ? 0 : (replaced.get(r.individual) ?? 0) + 1;
      if (r.individual !== null) replaced.set(r.individual, replacement);
      return {
        generation: r.generation,
        individual: r.individual,
        index: r.index,
        score: r.score,
        improvement: r.previousScore === null ? null : r.score - r.previousScore,
        replacement,
      };
    })
    .reverse();
}

/**
 * The slot an accepted offspring went into, by its number (1-based), the checkpoint it started
 * as and how often it has been replaced: "slot 1 (expert-a.onnx)", "slot 1 (expert-a.onnx, replaced 3×)".
 * The checkpoint's name alone would read as if the offspring replaced that checkpoint each time.
 */
export function slotLabel(e: Pick<AcceptedEntry, 'individual' | 'replacement'>, names: readonly string[]): string {
  if (e.individual === null) return '–';
  const start = names[e.individual];
  const lineage = [start, e.replacement > 1 ? `replaced ${e.replacement}×` : null].filter((x) => x !== undefined && x !== null);
  return lineage.length > 0 ? `slot ${e.individual + 1} (${lineage.join(', ')})` : `slot ${e.individual + 1}`;
}
