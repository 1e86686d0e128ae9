/** Start / Pause / Resume / Stop, the progress bar (generation and offspring counts) and the ETA. */
import { findMethod } from '../../merge/registry';
import { useStudioStore } from '../../state/store';
import { pauseRun, resumeRun, startMerge, startRun, stopRun } from '../../state/actions/run';
import { shownRunStatus } from '../../state/slices/run';
import { activeMs } from '../../state/run-clock';
import { estimateRemainingMs, formatDuration, workFraction } from '../../state/eta';
import type { RunProgress, RunStatus } from '../../state/slices/run';
import { useNow } from '../use-now';

/** Elapsed and remaining time of the run in progress, paused time left out. */
function RunTiming() {
  const running = useStudioStore((s) => s.status === 'running');
  const paused = useStudioStore((s) => s.paused);
  const clock = useStudioStore((s) => s.clock);
  const progress = useStudioStore((s) => s.progress);
  const now = useNow(1000, running && !paused);
  if (!running) return <span data-testid="eta" className="eta" />;
  const active = activeMs(clock, now);
  const remaining = estimateRemainingMs({
    planned: progress.offspringTotal,
    done: progress.offspringDone,
    firstOffspringAt: progress.firstOffspringAt,
    lastOffspringAt: progress.lastOffspringAt,
    now: active,
    checkpoints: { total: progress.checkpointsTotal, done: progress.checkpointsDone, startedAt: progress.checkpointsStartedAt, firstAt: progress.firstCheckpointAt, lastAt: progress.lastCheckpointAt },
    merges: progress.mergesTotal - progress.mergesDone,
    offspringCost: progress.offspringCost,
  });
  const planned = progress.offspringTotal > 0 || progress.mergesTotal > 0;
  const eta = paused ? 'paused' : remaining === null ? (planned ? 'estimating…' : 'unknown') : formatDuration(remaining);
  return (
    <span data-testid="eta" className="eta">
      elapsed {formatDuration(active)} · ETA {eta}
    </span>
  );
}

/** The line beside the bar: the phase, the checkpoints while they are scored, then the search's counts. */
function progressText(status: RunStatus, progress: RunProgress, generations: number, topK: boolean): string {
  if (status === 'idle') return 'Not started';
  const scoring = progress.checkpointsDone < progress.checkpointsTotal && progress.offspringDone === 0;
  const checkpoints = scoring && status === 'running' ? ` · checkpoint ${progress.checkpointsDone}/${progress.checkpointsTotal} scored` : '';
  if (progress.mergesTotal > 0) {
    // A one-shot merge: the checkpoints, then the merge; no offspring to count.
    return progress.mergesDone >= progress.mergesTotal && status === 'done' ? `${progress.phase} · merged and scored` : `${progress.phase}${checkpoints}`;
  }
  if (topK && progress.offspringDone > 0) {
    return `${progress.phase} · round ${progress.generation}/${generations} · merge ${progress.offspringInGeneration}/${progress.perGeneration} · ${progress.offspringDone} merges in all`;
  }
  if (progress.offspringTotal === 0) return `${progress.phase}${checkpoints}`;
  if (checkpoints) return `${progress.phase}${checkpoints} · then ${progress.offspringTotal} offspring`;
  return `${progress.phase} · generation ${progress.generation}/${generations} · offspring ${progress.offspringInGeneration}/${progress.perGeneration} · ${progress.offspringDone}/${progress.offspringTotal} total · ${progress.accepted} accepted`;
}

export function RunPanel() {
  const status = useStudioStore((s) => s.status);
  const paused = useStudioStore((s) => s.paused);
  const pausable = useStudioStore((s) => s.pausable);
  const progress = useStudioStore((s) => s.progress);
  const generations = useStudioStore((s) => s.settings.generations);
  const topK = useStudioStore((s) => s.settings.strategy === 'kinship_topk');
  const ready = useStudioStore((s) => s.snapshot.dataset !== null && !s.loading && s.recipeError === null);
  const experts = useStudioStore((s) => s.snapshot.checkpoints.filter((c) => !c.isBase).length);
  const hasBase = useStudioStore((s) => s.snapshot.checkpoints.some((c) => c.isBase));
  const method = useStudioStore((s) => findMethod(s.settings.merger.method));
  const canStart = ready && experts >= 2;
  // A method that reads the base as one of its models (SLERP) merges the base and one expert once (engine.ts prepare).
  const canMerge = ready && (experts >= 2 || (hasBase && experts === 1 && method?.baseAsModel !== undefined && method.needs.models === 2));
  const runError = useStudioStore((s) => s.runError);
  const recovery = useStudioStore((s) => s.recovery);
  const environment = useStudioStore((s) => s.environment);
  const running = status === 'running';
  const shown = shownRunStatus(status, paused);
  // Pause takes effect before the next score: until the engine reports it holds, the evaluation in flight goes on.
  const pausing = paused && progress.phase !== 'Paused';
  const fraction = workFraction(progress);
  return (
    <div className="run">
      <div className="run-buttons">
        <button type="button" className="primary" disabled={!canStart || running} onClick={() => void startRun()}>
          Start
        </button>
        <button type="button" disabled={!canMerge || running} onClick={() => void startMerge()} title="Merge once with the selected merger, no evolution">
          Merge once
        </button>
        {/* One button that turns into Resume, so keyboard focus stays on it. */}
        <button type="button" className="pause" disabled={!running || !pausable} onClick={() => void (paused ? resumeRun() : pauseRun())} title={paused ? 'Go on with the run' : 'Hold the run after the evaluation in flight'}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" disabled={!running} onClick={() => void stopRun()}>
          Stop
        </button>
        {!canStart && !running && <span className="muted">Load at least two checkpoints (besides the base) and a dev set.</span>}
      </div>
      <div className="progress-row" aria-live="polite">
        <progress max={1} value={fraction} aria-label="Run progress" data-testid="progress" />
        <span data-testid="progress-text" data-done={progress.offspringDone}>
          {progressText(status, progress, generations, topK)}
        </span>
      </div>
      <div className="run-status-row muted">
        <span data-testid="run-status" data-status={shown}>
          Status: {pausing ? 'pausing after the evaluation in flight' : shown}
        </span>
        <RunTiming />
      </div>
      {recovery && (
        <p className="muted" role="status" data-testid="recovery">
          {recovery}
        </p>
      )}
      {environment?.reason.includes('was lost') && (
        <p className="muted" role="status" data-testid="device-lost">
          {environment.reason}
        </p>
      )}
      {runError && (
        <p className="problems" role="alert">
          {runError}
        </p>
      )}
    </div>
  );
}
