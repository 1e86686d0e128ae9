/**
 * The accepted offspring as a compact table, newest first: generation, the individual
 * it replaced, its dev score and its gain. Scrolls inside a fixed height (focusable, so
 * it scrolls from the keyboard too) and downloads as CSV.
 */
import { useStudioStore } from '../../state/store';
import { percent } from '../format';
import { downloadBlob } from '../download';
import { acceptedLog, type AcceptedEntry } from './offspring-series';
import { toCsv, type CsvColumn } from './csv';

const CSV_COLUMNS: CsvColumn<AcceptedEntry>[] = [
  { header: 'generation', value: (e) => e.generation },
  { header: 'offspring', value: (e) => e.index },
  { header: 'individual', value: (e) => e.individual },
  { header: 'dev_accuracy', value: (e) => e.accuracy },
  { header: 'improvement', value: (e) => e.improvement },
];

function gain(improvement: number | null): string {
  if (improvement === null) return '–';
  // Fitness breaks accuracy ties on macro-F1: an accepted offspring can gain no accuracy.
  if (improvement === 0) return '±0 (better F1)';
  return `+${(improvement * 100).toFixed(1)} pt`;
}

export function AcceptedLog() {
  const records = useStudioStore((s) => s.offspringScores);
  const individualScores = useStudioStore((s) => s.individuals);
  const names = individualScores.map((m) => m.name);
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
              <th scope="col">Replaced</th>
              <th scope="col">Dev accuracy</th>
              <th scope="col">Improvement</th>
            </tr>
          </thead>
          <tbody>
            {log.map((e) => (
              <tr key={`${e.generation}-${e.index}`}>
                <td>{e.generation}</td>
                <td>{e.index}</td>
                <td>{e.individual === null ? '–' : (names[e.individual] ?? `#${e.individual}`)}</td>
                <td>{percent(e.accuracy)}</td>
                <td>{gain(e.improvement)}</td>
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
          onClick={() => downloadBlob(new Blob([toCsv(CSV_COLUMNS, log)], { type: 'text/csv' }), 'accepted-offspring.csv')}
        >
          Download CSV
        </button>
      </div>
    </figure>
  );
}
