/**
 * A gate a run passes before each score: open, it lets the run through at once; paused,
 * it holds the run until resume() (or release(), which Stop uses so a paused run can end).
 * Pausing only delays the next score — no random draw or score depends on time — so a
 * paused run ends exactly as an unpaused one. Pure: no DOM, usable in Node tests.
 */
export class PauseGate {
  private waiting: (() => void)[] = [];
  private pausedSince: number | null = null;
  private pausedBefore = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get paused(): boolean {
    return this.pausedSince !== null;
  }

  /** Milliseconds spent paused so far (the pause in progress included): a run's timing leaves them out. */
  get pausedMs(): number {
    return this.pausedBefore + (this.pausedSince === null ? 0 : this.now() - this.pausedSince);
  }

  pause(): void {
    if (this.pausedSince === null) this.pausedSince = this.now();
  }

  resume(): void {
    if (this.pausedSince !== null) this.pausedBefore += this.now() - this.pausedSince;
    this.pausedSince = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }

  /**
   * Resolves at once when open; when paused, calls onHeld (so the caller can report that
   * the run is now held) and resolves on resume. Returns whether it held the caller.
   */
  async pass(onHeld?: () => void): Promise<boolean> {
    if (!this.paused) return false;
    // Queued before onHeld runs: onHeld may resume (or stop) at once.
    const released = new Promise<void>((go) => this.waiting.push(go));
    onHeld?.();
    await released;
    return true;
  }
}
