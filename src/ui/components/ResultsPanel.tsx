/** Final scores (dev for selection, held-out reported separately) and export. */
import { useStudioStore } from '../../state/store';
import { ExportPanel } from './ExportPanel';
import { percent } from '../format';
import type { ModelScores, RunResult, StopReason } from '../../protocol/results';
import { LineageTree } from './LineageTree';
import { DomainScores } from './DomainScores';

const STOP_REASONS: Record<StopReason, string> = {
  completed: 'ran all its generations',
  budget: 'stopped on its evaluation budget',
  patience: 'stopped early: no better score for the patience window',
  user: 'stopped by you',
  converged: 'converged: the top-k set stopped changing',
};

function Summary({ result }: { result: RunResult }) {
  if (result.strategy === 'merge') return null;
  const { subset } = result;
  return (
    <p className="muted" data-testid="run-summary">
      {result.strategy === 'kinship_topk' ? 'Top-k kinship merging' : 'The Evolver'} {STOP_REASONS[result.stopReason]} after {result.counters.evaluations} dev evaluations.
      {subset &&
        ` Selection used a ${subset.rows}-row subset of the ${subset.devRows} dev rows; it ordered ${subset.agreeingPairs} of ${subset.pairs} pairs of models (${subset.models.length} models: the checkpoints, the start and the result) as the whole dev split does.`}
    </p>
  );
}

function Row({ m, testId }: { m: ModelScores; testId?: string }) {
  return (
    <tr data-testid={testId}>
      <td>{m.name}</td>
      <td data-testid={testId ? `${testId}-dev-acc` : undefined} data-value={m.dev.accuracy}>
        {percent(m.dev.accuracy)}
      </td>
      <td>{percent(m.dev.macroF1)}</td>
      <td data-testid={testId ? `${testId}-heldout-acc` : undefined}>{percent(m.heldout?.accuracy)}</td>
      <td>{percent(m.heldout?.macroF1)}</td>
    </tr>
  );
}

export function ResultsPanel() {
  const result = useStudioStore((s) => s.result);
  if (!result) return <p className="muted">Results appear here when a run finishes.</p>;
  return (
    <div className="results" data-testid="results">
      <table className="table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Dev acc.</th>
            <th>Dev macro-F1</th>
            <th>Held-out acc.</th>
            <th>Held-out macro-F1</th>
          </tr>
        </thead>
        <tbody>
          {result.individuals.map((m) => (
            <Row key={m.name} m={m} testId="individual" />
          ))}
          {result.strategy === 'evolver' && <Row m={result.initialMerge} testId="initial-merge" />}
          <Row m={result.final} testId="final" />
        </tbody>
      </table>
      <DomainScores models={[...result.individuals, ...(result.strategy === 'evolver' ? [result.initialMerge] : []), result.final]} />
      <Summary result={result} />
      {result.lineage && <LineageTree lineage={result.lineage.nodes} resultId={result.lineage.result} />}
      <p className="muted" data-testid="counters">
        {result.path === 'webgpu' ? 'WebGPU' : 'WASM'} path · {result.counters.evaluations} dev evaluations
        {result.counters.replayedEvaluations > 0 ? ` (${result.counters.replayedEvaluations} replayed from the stored run)` : ''} · {result.counters.accepted}/
        {result.counters.offspring} offspring accepted · sessions created during run: {result.counters.sessionsCreatedDuringRun} ·
        bytes read back from the GPU during run: {result.counters.gpuBytesReadBackDuringRun}
        {result.counters.kinshipBytesReadBack > 0 ? ` (plus ${result.counters.kinshipBytesReadBack} bytes of kinship moments)` : ''} ·{' '}
        {result.counters.msPerEvaluation.toFixed(0)} ms per evaluation
      </p>
      <ExportPanel />
    </div>
  );
}
