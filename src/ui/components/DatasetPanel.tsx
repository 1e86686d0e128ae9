/** Dev and held-out split sizes and rows per label (the task's strata); for CSV/TSV files, their columns to choose from. */
import { useStudioStore } from '../../state/store';
import { ColumnChoiceTable } from './ColumnChoiceTable';
import { setTask } from '../../state/actions/workspace';
import { TASKS } from '../../eval/tasks/registry';
import { FieldLabel } from './fields';

/** The task the checkpoints are scored as: guessed on load, shown, and changeable. */
function TaskPicker({ task }: { task: string }) {
  const busy = useStudioStore((s) => s.loading || s.status === 'running');
  return (
    <label className="field task-picker">
      <FieldLabel
        label="Task"
        help="Guessed from the dev rows' fields and the graph's outputs (a decoder's rows with choices are multiple choice); change it when the guess is wrong"
        topic="data"
      />
      <select value={task} disabled={busy} aria-label="Task" data-testid="task" onChange={(e) => void setTask(e.target.value)}>
        {TASKS.map((t) => (
          <option key={t.id} value={t.id}>
            {t.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function DatasetPanel() {
  const dataset = useStudioStore((s) => s.snapshot.dataset);
  const tokenizer = useStudioStore((s) => s.snapshot.tokenizer);
  if (!dataset) return <p className="muted">No dev set loaded yet{tokenizer ? ` (tokenizer: ${tokenizer})` : ''}.</p>;
  // A task without labels has no balance to show: just the row count.
  const balance = (counts: number[]) => (counts.length === 0 ? '' : ` (${counts.map((n, i) => `${dataset.labels[i] ?? i}: ${n}`).join(', ')})`);
  return (
    <>
      <div className="dataset" data-testid="dataset">
        <TaskPicker task={dataset.task} />
        <div>
          <strong>Dev</strong> {dataset.devFile}: {dataset.devSize} rows{balance(dataset.devBalance)} — used for selection
        </div>
        <div>
          <strong>Held-out</strong> {dataset.heldoutSource === 'file' ? dataset.heldoutFile : `seeded split of ${dataset.devFile}`}:{' '}
          {dataset.heldoutSize} rows{balance(dataset.heldoutBalance)} — reported only, never used for selection
        </div>
        <div className="muted">
          Sequence length {dataset.sequenceLength}
          {tokenizer ? `, tokenizer ${tokenizer}` : ', pre-tokenized'}
          {dataset.domains.length > 0 ? `, domains: ${dataset.domains.join(', ')}` : ''}
        </div>
      </div>
      {dataset.tables?.dev && <ColumnChoiceTable preview={dataset.tables.dev} split="dev" />}
      {dataset.tables?.heldout && <ColumnChoiceTable preview={dataset.tables.heldout} split="held-out" />}
    </>
  );
}
