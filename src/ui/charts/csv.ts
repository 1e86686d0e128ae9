/**
 * A chart's series as CSV (RFC 4180): one header row, then one row per point. Fields
 * with a comma, a quote or a line break are quoted, quotes doubled; numbers are written
 * in full (String(n)) so a download round-trips the exact values; missing and NaN values
 * are empty fields. Pure, no DOM.
 */
export interface CsvColumn<Row> {
  header: string;
  value: (row: Row) => string | number | boolean | null | undefined;
}

function field(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv<Row>(columns: readonly CsvColumn<Row>[], rows: readonly Row[]): string {
  const lines = [columns.map((c) => field(c.header)), ...rows.map((row) => columns.map((c) => field(c.value(row))))];
  return lines.map((cells) => cells.join(',')).join('\r\n') + '\r\n';
}
