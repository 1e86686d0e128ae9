/** Final scores (dev for selection, held-out reported separately) and export. */
import { useStudioStore } from '../../state/store';
import { ExportPanel } from './ExportPanel';
import { metricText } from '../format';
import type { MetricDescriptor, ModelScores, RunResult, StopReason } from '../../protocol/results';
import { taskView } from '../charts/use-task';
import { LineageTree } from './LineageTree';
import { DomainScores } from './DomainScores';

const STOP_REASONS: Record<StopReason, string> = {
  completed: 'ran all its generations',
  budget: 'stopped on its evaluation budget',
  patience: 'stopped early: no better score for the patience window',
  user: 'stopped by you',
  converged: 'converged',
};

/** What "converged" means for each search. */
const CONVERGED: Record<string, string> = {
  kinship_topk: 'converged: the top-k set stopped changing',
  cma_es: 'converged: its steps shrank below the tolerance',
};

const SEARCH_NAMES: Record<string, string> = { evolver: 'The Evolver', kinship_topk: 'Top-k kinship merging', cma_es: 'CMA-ES over the merge recipe' };

/** Whether a result has a starting merge to show beside it (the Evolver's and CMA-ES's start; Top-k starts from a checkpoint). */
export function showsStart(result: RunResult): boolean {
  return result.strategy === 'evolver' || result.strategy === 'cma_es';
}

function Summary({ result }: { result: RunResult }) {
  if (result.strategy === 'merge') return null;
  const { subset } = result;
  return (
    <p className="muted" data-testid="run-summary">
      {SEARCH_NAMES[result.strategy] ?? result.strategy} {result.stopReason === 'converged' ? (CONVERGED[result.strategy] ?? STOP_REASONS.converged) : STOP_REASONS[result.stopReason]} after{' '}
      {result.counters.evaluations} dev evaluations.
      {subset &&
        ` Selection used a ${subset.rows}-row subset of the ${subset.devRows} dev rows; it ordered ${subset.agreeingPairs} of ${subset.pairs} pairs of models (${subset.models.length} models: the checkpoints, the start and the result) as the whole dev split does.`}
    </p>
  );
}

/**
 * The run's counters in one line. A one-shot merge has no offspring to count; the GPU's read-back
 * only means something on the WebGPU path (on WASM every weight lives on the CPU).
 */
function countersText(result: RunResult): string {
  const c = result.counters;
  const gpu = result.path === 'webgpu';
  const parts = [
    `${gpu ? 'WebGPU' : 'WASM'} path`,
    `${c.evaluations} dev evaluation${c.evaluations === 1 ? '' : 's'}${c.replayedEvaluations > 0 ? ` (${c.replayedEvaluations} replayed from the stored run)` : ''}`,
    result.strategy === 'merge' ? 'merged once, no search' : `${c.accepted}/${c.offspring} offspring accepted`,
    `sessions created during run: ${c.sessionsCreatedDuringRun}`,
  ];
  if (gpu) {
    parts.push(
      `bytes read back from the GPU during run: ${c.gpuBytesReadBackDuringRun}${c.kinshipBytesReadBack > 0 ? ` (plus ${c.kinshipBytesReadBack} bytes of kinship moments)` : ''}`,
    );
  }
  parts.push(`${c.msPerEvaluation.toFixed(0)} ms per evaluation`);
  return parts.join(' · ');
}

/** One model: the task's metrics on dev, then on held-out data. The primary metric's cells carry the test ids (and the dev value). */
function Row({ m, metrics, testId, validated }: { m: ModelScores; metrics: readonly MetricDescriptor[]; testId?: string; validated: MetricDescriptor | null }) {
  const id = (split: string, i: number) => (testId && i === 0 ? `${testId}-${split}-acc` : undefined);
  return (
    <tr data-testid={testId}>
      <td>{m.name}</td>
      {metrics.map((d, i) => (
        <td key={`dev-${d.key}`} data-testid={id('dev', i)} data-value={i === 0 ? m.dev.metrics[d.key] : undefined}>
          {metricText(d, m.dev.metrics[d.key])}
        </td>
      ))}
      {metrics.map((d, i) => (
        <td key={`heldout-${d.key}`} data-testid={id('heldout', i)}>
          {metricText(d, m.heldout?.metrics[d.key])}
        </td>
      ))}
      {validated && <td data-testid={testId ? `${testId}-validation` : undefined}>{metricText(validated, m.validation?.metrics[validated.key])}</td>}
    </tr>
  );
}

export function ResultsPanel() {
  const result = useStudioStore((s) => s.result);
  if (!result) return <p className="muted">Results appear here when a run finishes.</p>;
  const { metrics, primary } = taskView(result.final.dev.task);
  // With a validation slice, its primary metric is shown beside dev and held-out.
  const validated = result.validation ? primary : null;
  return (
    <div className="results" data-testid="results">
      <table className="table">
        <thead>
          <tr>
            <th>Model</th>
            {metrics.map((d) => (
              <th key={`dev-${d.key}`}>Dev {d.short}</th>
            ))}
            {metrics.map((d) => (
              <th key={`heldout-${d.key}`}>Held-out {d.short}</th>
            ))}
            {validated && <th>Validation {validated.short}</th>}
          </tr>
        </thead>
        <tbody>
          {result.individuals.map((m) => (
            <Row key={m.name} m={m} metrics={metrics} testId="individual" validated={validated} />
          ))}
          {showsStart(result) && <Row m={result.initialMerge} metrics={metrics} testId="initial-merge" validated={validated} />}
          <Row m={result.final} metrics={metrics} testId="final" validated={validated} />
        </tbody>
      </table>
      <DomainScores models={[...result.individuals, ...(showsStart(result) ? [result.initialMerge] : []), result.final]} />
      <Summary result={result} />
      {result.validation && (
        <p className={result.validation.resultBelowStart ? 'warning' : 'muted'} role={result.validation.resultBelowStart ? 'alert' : undefined} data-testid="validation-note">
          {result.validation.message}
        </p>
      )}
      {result.lineage && <LineageTree lineage={result.lineage.nodes} resultId={result.lineage.result} />}
      <p className="muted" data-testid="counters">
        {countersText(result)}
      </p>
      <ExportPanel />
    </div>
  );
}
