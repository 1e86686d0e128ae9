/**
 * CSV/TSV dev and held-out files as the workspace keeps them: the parsed table, the column
 * choice in use and the rows it gives, so choosing other columns re-derives the rows without
 * reading the file again. Pure (no DOM, no GPU): imports the CSV reader and dataset types only.
 */
import { DatasetError, type DevRow } from '../eval/dataset';
import { columnName, guessColumns, parseCsvBytes, previewTable, tableRows, type CsvTable } from '../eval/csv';
import { type ColumnChoice, type TablePreview } from '../protocol/project';

export interface TableRowsFile {
  fileName: string;
  rows: DevRow[];
  table: CsvTable;
  choice: ColumnChoice;
}

/** Parses a dropped CSV/TSV file and takes the guessed columns; throws DatasetError naming the file. */
export function readTableFile(fileName: string, bytes: Uint8Array): TableRowsFile {
  const table = parseCsvBytes(bytes, fileName);
  return withColumns(table, guessColumns(table));
}

/** The same table read through other columns; throws DatasetError naming the file when the choice does not fit. */
export function withColumns(table: CsvTable, choice: ColumnChoice): TableRowsFile {
  const copy: ColumnChoice = choice.domain === undefined ? { text: choice.text, label: choice.label } : { ...choice };
  return { fileName: table.fileName, rows: tableRows(table, copy), table, choice: copy };
}

/**
 * An encoding error of a table's rows (an unknown label, a class out of range) says which columns
 * it read, so the user sees the label came from, say, "source" and can pick another column.
 */
export function withColumnsNamed(err: unknown, file: { table?: CsvTable; choice?: ColumnChoice }): unknown {
  if (!(err instanceof DatasetError) || !file.table || !file.choice) return err;
  const { table, choice } = file;
  const columns = `text column "${columnName(table, choice.text)}", label column "${columnName(table, choice.label)}"`;
  return new DatasetError(err.fileName, `${err.message} (reading ${columns})`, err.line);
}

/** Previews of the dev and held-out files that are tables (absent for JSONL files). */
export function tablePreviews(files: { dev: { table?: CsvTable; choice?: ColumnChoice } | null; heldout: { table?: CsvTable; choice?: ColumnChoice } | null }): { dev?: TablePreview; heldout?: TablePreview } | undefined {
  const preview = (f: { table?: CsvTable; choice?: ColumnChoice } | null) => (f?.table && f.choice ? previewTable(f.table, f.choice) : undefined);
  const dev = preview(files.dev);
  const heldout = preview(files.heldout);
  if (!dev && !heldout) return undefined;
  return { ...(dev ? { dev } : {}), ...(heldout ? { heldout } : {}) };
}
