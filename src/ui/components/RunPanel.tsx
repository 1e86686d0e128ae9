/** Start / Stop and the progress bar (generation and offspring counts). */
import { useStudioStore } from '../../state/store';
import { startMerge, startRun, stopRun } from '../../state/actions';

export function RunPanel() {
  const status = useStudioStore((s) => s.status);
  const progress = useStudioStore((s) => s.progress);
  const generations = useStudioStore((s) => s.settings.generations);
  const topK = useStudioStore((s) => s.settings.strategy === 'kinship_topk');
  const canStart = useStudioStore(
    (s) => s.snapshot.checkpoints.filter((c) => !c.isBase).length >= 2 && s.snapshot.dataset !== null && !s.loading && s.recipeError === null,
  );
  const runError = useStudioStore((s) => s.runError);
  const recovery = useStudioStore((s) => s.recovery);
  const environment = useStudioStore((s) => s.environment);
  const running = status === 'running';
  const fraction = progress.offspringTotal > 0 ? progress.offspringDone / progress.offspringTotal : 0;
  return (
    <div className="run">
      <div className="run-buttons">
        <button type="button" className="primary" disabled={!canStart || running} onClick={() => void startRun()}>
          Start
        </button>
        <button type="button" disabled={!canStart || running} onClick={() => void startMerge()} title="Merge once with the selected merger, no evolution">
          Merge once
        </button>
        <button type="button" disabled={!running} onClick={() => void stopRun()}>
          Stop
        </button>
        {!canStart && !running && <span className="muted">Load at least two checkpoints (besides the base) and a dev set.</span>}
      </div>
      <div className="progress-row" aria-live="polite">
        <progress max={1} value={fraction} aria-label="Run progress" data-testid="progress" />
        <span data-testid="progress-text">
          {status === 'idle'
            ? 'Not started'
            : topK && progress.offspringDone > 0
              ? `${progress.phase} · round ${progress.generation}/${generations} · merge ${progress.offspringInGeneration}/${progress.perGeneration} · ${progress.offspringDone} merges in all`
              : progress.offspringTotal === 0
                ? progress.phase
                : `${progress.phase} · generation ${progress.generation}/${generations} · offspring ${progress.offspringInGeneration}/${progress.perGeneration} · ${progress.offspringDone}/${progress.offspringTotal} total · ${progress.accepted} accepted`}
        </span>
      </div>
      <div data-testid="run-status" data-status={status} className="muted">
        Status: {status}
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
