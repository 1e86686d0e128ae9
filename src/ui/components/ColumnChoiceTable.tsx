/**
 * A CSV/TSV dev or held-out file's first rows, with the columns read as text, label and domain
 * chosen in three selects (a column taken from another role moves over: see chooseColumn). A
 * choice goes to the engine, which re-encodes the file; one that does not fit is listed under
 * the file's name and the selects keep the columns in use.
 * Cells are text only: they come from user files and are never rendered as HTML.
 */
import { chooseColumn } from '../../eval/csv';
import { type ColumnChoice, type TablePreview } from '../../protocol/project';
import { setDatasetColumns } from '../../state/actions/workspace';
import { useStudioStore } from '../../state/store';

type Role = keyof ColumnChoice;

const ROLES: readonly { role: Role; label: string; optional: boolean }[] = [
  { role: 'text', label: 'Text column', optional: false },
  { role: 'label', label: 'Label column', optional: false },
  { role: 'domain', label: 'Domain column', optional: true },
];

function roleOf(choice: ColumnChoice, column: number): Role | null {
  return ROLES.find(({ role }) => choice[role] === column)?.role ?? null;
}

export function ColumnChoiceTable({ preview, split }: { preview: TablePreview; split: 'dev' | 'held-out' }) {
  const busy = useStudioStore((s) => s.loading || s.status === 'running');
  const { fileName, columns, rows, rowCount, choice } = preview;
  return (
    <fieldset className="column-choice" data-testid={`columns-${split}`}>
      <legend>
        Columns of {fileName} ({split} set)
      </legend>
      <div className="settings">
        {ROLES.map(({ role, label, optional }) => (
          <label className="field" key={role}>
            <span>{label}</span>
            <select aria-label={label} value={choice[role] ?? ''} disabled={busy} onChange={(e) => void setDatasetColumns(fileName, chooseColumn(choice, role, e.target.value === '' ? null : Number(e.target.value)))}>
              {optional && <option value="">(none)</option>}
              {columns.map((name, i) => (
                <option key={i} value={i}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <div className="column-preview">
        <table className="table compact" data-testid="column-preview">
          <caption className="muted">
            First {rows.length} of {rowCount} rows
          </caption>
          <thead>
            <tr>
              {columns.map((name, i) => {
                const role = roleOf(choice, i);
                return (
                  <th key={i} scope="col" data-role={role ?? undefined}>
                    {name}
                    {role && <span className="muted"> ({role})</span>}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {rows.map((cells, r) => (
              <tr key={r}>
                {cells.map((cell, i) => (
                  <td key={i}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </fieldset>
  );
}
