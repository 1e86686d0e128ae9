/** Loaded checkpoints with size, parameters and (once a run started) their own dev / held-out scores. */
import { useStudioStore } from '../../state/store';
import { removeCheckpoint, setBase } from '../../state/actions/workspace';
import { bytes, count, metricText } from '../format';
import { useTaskView } from '../charts/use-task';
import { DomainScores } from './DomainScores';

export function CheckpointTable() {
  const checkpoints = useStudioStore((s) => s.snapshot.checkpoints);
  const architecture = useStudioStore((s) => s.snapshot.architecture);
  const individuals = useStudioStore((s) => s.individuals);
  const running = useStudioStore((s) => s.status === 'running');
  const { primary } = useTaskView();
  if (checkpoints.length === 0) return <p className="muted">No checkpoints loaded yet.</p>;
  return (
    <>
      <table className="table" data-testid="checkpoints">
        <thead>
          <tr>
            <th>Checkpoint</th>
            <th title="The pre-trained model task vectors are taken from; it is not evolved">Base</th>
            <th>Format</th>
            <th>Size</th>
            <th>Parameters</th>
            <th>Tensors</th>
            <th>Dev {primary.short}</th>
            <th>Held-out {primary.short}</th>
            <th aria-label="actions" />
          </tr>
        </thead>
        <tbody>
          {checkpoints.map((c) => {
            const scores = individuals.find((m) => m.name === c.name);
            return (
              <tr key={c.name}>
                <td>
                  {c.name}
                  {c.nonFinite > 0 && (
                    <span className="warning" role="note" data-testid="non-finite">
                      {' '}
                      ⚠ {count(c.nonFinite)} NaN/Inf weights: merging spreads them; remove it or continue
                    </span>
                  )}
                </td>
                <td>
                  <input
                    type="checkbox"
                    checked={c.isBase}
                    disabled={running}
                    aria-label={`Use ${c.name} as the base model`}
                    onChange={(e) => void setBase(e.target.checked ? c.name : null)}
                  />
                </td>
                <td title={c.files.join('\n')}>
                  {c.format === 'safetensors' ? 'safetensors' : 'ONNX'} {c.dtype}
                  {c.files.length > 1 && <span className="muted"> · {c.files.length} files</span>}
                </td>
                <td>{bytes(c.bytes)}</td>
                <td>{count(c.parameterCount)}</td>
                <td>{c.tensorCount}</td>
                <td>{metricText(primary, scores?.dev.metrics[primary.key])}</td>
                <td>{metricText(primary, scores?.heldout?.metrics[primary.key])}</td>
                <td>
                  <button type="button" className="link" disabled={running} onClick={() => void removeCheckpoint(c.name)} aria-label={`Remove ${c.name}`}>
                    remove
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {architecture && (
        <p className="muted">
          One architecture: opset {architecture.opset}, inputs {architecture.inputs.join(', ')} → {architecture.outputs.join(', ')};{' '}
          {architecture.mergedTensors} tensors ({count(architecture.mergedParameters)} parameters) differ across checkpoints and are evolved
          {architecture.populationBytes > 0 && <>; a run holds about {bytes(architecture.populationBytes)} of them</>}
          {architecture.memory && <>, and scoring needs about {bytes(architecture.memory.wasmHeapBytes)} in onnxruntime</>}.
        </p>
      )}
      {individuals.length > 0 && <DomainScores models={individuals} testId="checkpoint-domain-scores" />}
      {architecture?.memory?.problems.map((p) => (
        <p key={p} className="warning" role="alert" data-testid="memory-warning">
          ⚠ Will not fit: {p}
        </p>
      ))}
    </>
  );
}
