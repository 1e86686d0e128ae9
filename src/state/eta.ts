/**
 * Time left in a run, from the offspring scored so far against those planned
 * (actions.ts plannedOffspring). Times are active ms (run-clock.ts: paused time left out).
 *
 * The rate is taken between the first and the last offspring, not from the run's start:
 * before the first offspring the run loads the population and scores every checkpoint on
 * dev and held-out data, which would make an early estimate several times too long.
 */
export interface EtaParams {
  planned: number;
  done: number;
  /** Active ms when the first offspring was scored, and when the latest one was; null before. */
  firstOffspringAt: number | null;
  lastOffspringAt: number | null;
  now: number;
}

/** Milliseconds left, or null while unknown (no plan, fewer than two offspring to time). */
export function estimateRemainingMs({ planned, done, firstOffspringAt, lastOffspringAt, now }: EtaParams): number | null {
  if (planned <= 0) return null;
  if (done >= planned) return 0;
  if (done < 2 || firstOffspringAt === null || lastOffspringAt === null) return null;
  const perOffspring = (lastOffspringAt - firstOffspringAt) / (done - 1);
  // Counts down between offspring rather than jumping at each one.
  return Math.max(0, perOffspring * (planned - done) - Math.max(0, now - lastOffspringAt));
}

/** "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
