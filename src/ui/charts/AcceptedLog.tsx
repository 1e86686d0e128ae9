/**
 * The accepted offspring as a compact table, newest first: generation, the slot it replaced
 * (its number, the checkpoint it started as, how often it was replaced), its dev score (the task's primary metric) and its gain. Scrolls inside a fixed height (focusable, so
 * it scrolls from the keyboard too) and downloads as CSV.
 */
import { useStudioStore } from '../../state/store';
import { metricText } from '../format';
import { metricColumn } from '../../eval/tasks/metric-format';
import { useTaskView, type TaskView } from './use-task';
import { downloadBlob } from '../../state/download';
import { acceptedLog, slotLabel, type AcceptedEntry } from './offspring-series';
import { toCsv, type CsvColumn } from './csv';

function csvColumns(task: TaskView): CsvColumn<AcceptedEntry>[] {
  return [
    { header: 'generation', value: (e) => e.generation },
    { header: 'offspring', value: (e) => e.index },
    { header: 'individual', value: (e) => e.individual },
    { header: 'replacement', value: (e) => e.replacement },
    { header: `dev_${metricColumn(task.primary)}`, value: (e) => e.score },
    { header: 'improvement', value: (e) => e.improvement },
  ];
}

function gain(improvement: number | null, task: TaskView): string {
  if (improvement === null) return '–';
  // Fitness breaks ties of the primary metric on the next one: an accepted offspring can gain nothing on the first.
  if (improvement === 0) return task.tieBreak ? `±0 (better ${task.tieBreak.short})` : '±0';
  const sign = improvement > 0 ? '+' : '';
  return task.primary.format === 'percent' ? `${sign}${(improvement * 100).toFixed(1)} pt` : `${sign}${improvement.toFixed(3)}`;
}

export function AcceptedLog() {
  const records = useStudioStore((s) => s.offspringScores);
  const individualScores = useStudioStore((s) => s.individuals);
  const names = individualScores.map((m) => m.name);
  const task = useTaskView();
  const log = acceptedLog(records);
  return (
    <figure className="chart accepted-log" data-testid="accepted-log" data-rows={log.length}>
      <div className="chart-head">
        <figcaption id="accepted-log-title">Accepted offspring ({log.length})</figcaption>
      </div>
      <div className="log-scroll" tabIndex={0} role="region" aria-labelledby="accepted-log-title">
        <table className="table log">
          <thead>
            <tr>
              <th scope="col">Generation</th>
              <th scope="col">Offspring</th>
              <th scope="col">Slot replaced</th>
              <th scope="col">Dev {task.primary.label}</th>
              <th scope="col">Improvement</th>
            </tr>
          </thead>
          <tbody>
            {log.map((e) => (
              <tr key={`${e.generation}-${e.index}`}>
                <td>{e.generation}</td>
                <td>{e.index}</td>
                <td>{slotLabel(e, names)}</td>
                <td>{metricText(task.primary, e.score)}</td>
                <td>{gain(e.improvement, task)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {log.length === 0 && <p className="muted log-empty">No offspring accepted yet.</p>}
      </div>
      <div className="chart-downloads">
        <button
          type="button"
          className="small"
          disabled={log.length === 0}
          aria-label="Download CSV of accepted offspring"
          onClick={() => downloadBlob(new Blob([toCsv(csvColumns(task), log)], { type: 'text/csv' }), 'accepted-offspring.csv')}
        >
          Download CSV
        </button>
      </div>
    </figure>
  );
}
