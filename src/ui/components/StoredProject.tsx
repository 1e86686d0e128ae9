/**
 * What this browser keeps of the project: the offer to resume an interrupted run (or reload
 * the last files) when the studio opens empty, a way to delete the stored data, and the
 * notice that another tab holds the project (this one then stores nothing).
 */
import { useStudioStore } from '../../state/store';
import { discardStoredProject, reloadStoredFiles, resumeStoredRun, showStoredResult } from '../../state/actions/stored-project';
import type { StoredProjectSummary } from '../../state/project-store';
import type { RunResult } from '../../protocol/results';
import { formatMetric, taskPrimaryMetric } from '../../eval/tasks/metric-format';

export function StoredProjectOffer() {
  const stored = useStudioStore((s) => s.stored);
  const busy = useStudioStore((s) => s.loading || s.status === 'running');
  const elsewhere = useStudioStore((s) => s.openElsewhere);
  if (elsewhere) return <OpenElsewhereNote />;
  if (!stored) return null;
  const { run, finished } = stored;
  return (
    <div className="stored" role="region" aria-label="Stored session" data-testid="stored-project">
      <p>
        This browser kept your last session: {stored.files.length} files ({stored.files.join(', ')}){sessionText(stored)}
      </p>
      <div className="run-buttons">
        {run && (
          <button type="button" className="primary" disabled={busy} onClick={() => void resumeStoredRun()}>
            Resume the run
          </button>
        )}
        {finished && (
          <button type="button" className="primary" disabled={busy} onClick={() => void showStoredResult()}>
            Show the result
          </button>
        )}
        <button type="button" disabled={busy} onClick={() => void reloadStoredFiles()}>
          Reload the files
        </button>
        <button type="button" disabled={busy} onClick={() => void discardStoredProject()}>
          Delete stored data
        </button>
      </div>
    </div>
  );
}

const STRATEGY_NAMES: Record<string, string> = { evolver: 'Evolver run', kinship_topk: 'Top-k merging', cma_es: 'CMA-ES search', merge: 'one-shot merge' };

function strategyName(strategy: RunResult['strategy']): string {
  return STRATEGY_NAMES[strategy] ?? strategy;
}

/** What the offer says of the stored run: interrupted (and how far it got), or finished (and what it scored). */
function sessionText({ run, finished }: StoredProjectSummary): string {
  if (run) {
    // Checkpoints are scored before the first selection score is stored: a run stopped then has none.
    const progress = run.scores === 0 ? 'that stopped while scoring the checkpoints, before its first stored dev evaluation' : `that stopped after ${run.scores} dev evaluations`;
    return ` and a run (${strategyName(run.settings.strategy)}, seed ${run.settings.seed}, started ${new Date(run.startedAt).toLocaleString()}) ${progress}.`;
  }
  if (finished) {
    const { result } = finished;
    const primary = taskPrimaryMetric(result.final.dev.task);
    const heldout = result.final.heldout ? `, held-out ${formatMetric(primary, result.final.heldout.metrics[primary.key], 2)}` : '';
    const seed = result.strategy === 'merge' ? result.mergerLabel : `seed ${result.settings.seed}`;
    return ` and a finished ${strategyName(result.strategy)} (${seed}, ${new Date(finished.finishedAt).toLocaleString()}): dev ${primary.label} ${formatMetric(primary, result.final.dev.metrics[primary.key], 2)}${heldout}.`;
  }
  return '.';
}

/** Another tab holds the stored project: this one works, but keeps nothing. */
function OpenElsewhereNote() {
  return (
    <div className="stored" role="status" data-testid="open-elsewhere">
      <p>
        <strong>This project is open in another tab.</strong> That tab keeps it in this browser; this one works without storing anything, so
        what you load or run here is not kept and cannot be resumed. To continue the stored project here, close the other tab and reload this one.
      </p>
    </div>
  );
}

export function StorageNote() {
  const storage = useStudioStore((s) => s.storage);
  const error = useStudioStore((s) => s.storageError);
  const hasFiles = useStudioStore((s) => s.snapshot.checkpoints.length > 0);
  if (storage === 'off') return error ? <p className="muted" data-testid="storage-note">{error}</p> : null;
  if (!hasFiles) return null;
  return (
    <p className="muted" data-testid="storage-note">
      This project is kept in this browser (never uploaded) so a closed tab can resume its run.{' '}
      <button type="button" className="link" onClick={() => void discardStoredProject()}>
        Delete stored data
      </button>
    </p>
  );
}
