/**
 * The run report's counters, measured from a run's start: sessions created, bytes read back
 * from the GPU (weights apart from kinship moments), evaluations and time per evaluation
 * without paused time. One meter for searches and one-shot merges alike.
 */
import { ortCounters } from '../eval/ort';
import { gpuTransferCounters } from '../gpu/buffers';
import type { RunCounters } from '../protocol/results';

export interface RunCounts {
  evaluations: number;
  replayedEvaluations: number;
  offspring: number;
  accepted: number;
  /** Kinship moments read back during the run (counted apart from weights). */
  kinshipBytesReadBack: number;
}

export class RunMeter {
  private readonly sessionsBefore = ortCounters.sessionsCreated;
  private readonly readBackBefore = gpuTransferCounters.bytesReadBack;
  private readonly started = performance.now();
  private readonly pausedBefore: number;

  /** pausedMs: the pause gate's running total of paused time. */
  constructor(private readonly pausedMs: () => number = () => 0) {
    this.pausedBefore = pausedMs();
  }

  counters(counts: RunCounts): RunCounters {
    const elapsed = performance.now() - this.started - (this.pausedMs() - this.pausedBefore);
    return {
      sessionsCreated: ortCounters.sessionsCreated,
      sessionsCreatedDuringRun: ortCounters.sessionsCreated - this.sessionsBefore,
      gpuBytesReadBackDuringRun: gpuTransferCounters.bytesReadBack - this.readBackBefore - counts.kinshipBytesReadBack,
      kinshipBytesReadBack: counts.kinshipBytesReadBack,
      evaluations: counts.evaluations,
      replayedEvaluations: counts.replayedEvaluations,
      offspring: counts.offspring,
      accepted: counts.accepted,
      msPerEvaluation: elapsed / Math.max(1, counts.evaluations - counts.replayedEvaluations),
    };
  }
}
