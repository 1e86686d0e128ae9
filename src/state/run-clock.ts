/**
 * A run's wall clock with paused time left out, so the ETA and the elapsed time shown
 * do not count the minutes a run sat paused. Plain data (it lives in the store) and
 * pure functions of an explicit `now` (ms), so tests need no fake timers.
 */
export interface RunClock {
  startedAt: number;
  /** Paused time of finished pauses. */
  pausedMs: number;
  /** When the pause in progress began; null while running. */
  pausedAt: number | null;
}

export function startClock(now: number): RunClock {
  return { startedAt: now, pausedMs: 0, pausedAt: null };
}

export function pauseClock(clock: RunClock, now: number): RunClock {
  return clock.pausedAt === null ? { ...clock, pausedAt: now } : clock;
}

export function resumeClock(clock: RunClock, now: number): RunClock {
  return clock.pausedAt === null ? clock : { ...clock, pausedMs: clock.pausedMs + (now - clock.pausedAt), pausedAt: null };
}

/** Time the run has been running (not paused) at `now`. */
export function activeMs(clock: RunClock, now: number): number {
  const pausing = clock.pausedAt === null ? 0 : now - clock.pausedAt;
  return Math.max(0, now - clock.startedAt - clock.pausedMs - pausing);
}
