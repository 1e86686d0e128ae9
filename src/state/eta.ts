/**
 * How far a run is, and the time it has left: the checkpoints scored first, then the offspring
 * scored so far against those planned (actions.ts plannedOffspring), or a one-shot merge's own
 * evaluation. Times are active ms (run-clock.ts: paused time left out).
 *
 * Scoring a checkpoint (dev and held-out rows) and scoring an offspring (the selection rows)
 * differ in cost: `offspringCost` is an offspring's rows over a checkpoint's, so the bar and the
 * early estimate weigh them by what they evaluate. Once two offspring are timed, the rate is
 * taken between the first and the last of them, not from the run's start: loading the population
 * and scoring the checkpoints would make the estimate several times too long.
 */
export interface EtaParams {
  planned: number;
  done: number;
  /** Active ms when the first offspring was scored, and when the latest one was; null before. */
  firstOffspringAt: number | null;
  lastOffspringAt: number | null;
  now: number;
  /** The checkpoints' scoring: how many, how many scored, when it began and when the latest was scored. */
  checkpoints?: { total: number; done: number; startedAt: number | null; firstAt?: number | null; lastAt: number | null };
  /** Evaluations after the checkpoints that cost what a checkpoint's does (a one-shot merge: 1). */
  merges?: number;
  /** An offspring's evaluation as a share of a checkpoint's (1 when not given). */
  offspringCost?: number;
}

/** Milliseconds left, or null while unknown (nothing planned, nothing timed yet). */
export function estimateRemainingMs(p: EtaParams): number | null {
  const { planned, done, firstOffspringAt, lastOffspringAt, now } = p;
  const merges = p.merges ?? 0;
  if (planned <= 0 && merges <= 0) return null;
  if (planned > 0 && done >= planned) return 0;
  if (done >= 2 && firstOffspringAt !== null && lastOffspringAt !== null) {
    const perOffspring = (lastOffspringAt - firstOffspringAt) / (done - 1);
    // Counts down between offspring rather than jumping at each one.
    return Math.max(0, perOffspring * (planned - done) - Math.max(0, now - lastOffspringAt));
  }
  // Before two offspring are timed: from the checkpoints' rate, each offspring at its share of one.
  const c = p.checkpoints;
  if (!c || c.done < 1 || c.startedAt === null || c.lastAt === null) return null;
  // From the second checkpoint on, timed between the first and the latest: the first also warms the session up.
  const perCheckpoint = c.done >= 2 && c.firstAt != null ? (c.lastAt - c.firstAt) / (c.done - 1) : (c.lastAt - c.startedAt) / c.done;
  const units = Math.max(0, c.total - c.done) + merges + Math.max(0, planned - done) * (p.offspringCost ?? 1);
  const since = Math.max(c.lastAt, lastOffspringAt ?? c.lastAt);
  return Math.max(0, perCheckpoint * units - Math.max(0, now - since));
}

export interface RunWork {
  checkpointsTotal: number;
  checkpointsDone: number;
  offspringTotal: number;
  offspringDone: number;
  /** A one-shot merge's own evaluation: 1 planned, 1 done when it is scored. */
  mergesTotal: number;
  mergesDone: number;
  offspringCost: number;
}

/**
 * The bar's fraction in [0, 1]: evaluations done over planned, each weighted by its cost.
 * 0 when the run's size is not known up front (Top-k: no offspring planned and no merge).
 */
export function workFraction(w: RunWork): number {
  if (w.offspringTotal <= 0 && w.mergesTotal <= 0) return 0;
  const cost = w.offspringCost;
  const total = w.checkpointsTotal + w.mergesTotal + w.offspringTotal * cost;
  if (total <= 0) return 0;
  const done = Math.min(w.checkpointsDone, w.checkpointsTotal) + Math.min(w.mergesDone, w.mergesTotal) + Math.min(w.offspringDone, w.offspringTotal) * cost;
  return Math.min(1, done / total);
}

/** An offspring's rows over a checkpoint's: selection scores the dev rows (or a subset), a checkpoint dev and held-out. */
export function offspringCost(devSize: number, heldoutSize: number, subset: number): number {
  const selection = subset > 0 && subset < devSize ? subset : devSize;
  const checkpoint = devSize + heldoutSize;
  return checkpoint > 0 && selection > 0 ? selection / checkpoint : 1;
}

/** "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
