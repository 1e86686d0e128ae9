// CSV and TSV dev sets: a table (header row + rows of cells) and, for a choice of columns, the
// same DevRow[] that parseJsonl gives, so encodeDataset treats both formats alike.
// Pure logic (text in, plain objects out): the engine worker, the CLI and Node tests share it.
// Parsing is papaparse's (quoted fields holding delimiters and line breaks, CRLF); this module
// adds what a dev set needs on top: a header row, rectangular rows, line numbers in errors,
// a guess of which column is which, and a short preview for the UI.
import Papa from 'papaparse';
import { DatasetError, MAX_DEV_ROWS, checkDevFileSize, decodeDevText, type DevRow } from './dataset';
import { type ColumnChoice, type TablePreview } from '../protocol/project';

export interface CsvTable {
  fileName: string;
  /** Header cells, trimmed; may be empty or repeat (see columnName). */
  header: string[];
  /** Data rows, each exactly header.length cells. */
  rows: string[][];
  /** 1-based line in the file where each row starts (a quoted field may span lines). */
  lines: number[];
}

export const PREVIEW_ROWS = 5;
export const PREVIEW_CELL_CHARS = 60;

/** A label column has at most this many distinct values when it has to be guessed from the cells. */
const MAX_GUESSED_LABELS = 100;
/** Rows looked at when a column is guessed from its cells. */
const GUESS_SAMPLE_ROWS = 500;

// Header names, normalised (lower case, letters and digits only), most telling first.
const TEXT_NAMES = ['text', 'sentence', 'content', 'body', 'document', 'message', 'review', 'comment', 'utterance', 'passage', 'tweet', 'email', 'input', 'prompt', 'question', 'sentence1'];
const LABEL_NAMES = ['label', 'labels', 'class', 'target', 'category', 'gold', 'goldlabel', 'labelid', 'classlabel', 'sentiment', 'intent', 'y'];
// "source" is left out on purpose: in many files it holds text (translation pairs) or a URL.
const DOMAIN_NAMES = ['domain', 'domains', 'group', 'subset', 'genre', 'topic'];

const TAB_EXTENSIONS = /\.(tsv|tab)$/i;

/** Name shown for a column: its header cell, or its position when the cell is empty. */
export function columnName(table: Pick<CsvTable, 'header'>, index: number): string {
  const name = table.header[index];
  return name === undefined || name === '' ? `column ${index + 1}` : name;
}

function listColumns(table: CsvTable): string {
  return table.header.map((_, i) => `"${columnName(table, i)}"`).join(', ');
}

/** Decodes UTF-8 bytes (refusing invalid ones) and parses them; see parseCsv. */
export function parseCsvBytes(bytes: Uint8Array, fileName: string): CsvTable {
  return parseCsv(decodeDevText(bytes, fileName), fileName);
}

/**
 * Parses a CSV (or, by a .tsv/.tab name, TSV) file whose first row is the header. A .csv file's
 * delimiter is detected among comma, semicolon, tab and bar (comma when unclear). Blank lines are
 * skipped. Throws DatasetError naming the file (and the line) on an unclosed quote, a row whose
 * cell count differs from the header's, a file without data rows, or one over the size/row caps.
 */
export function parseCsv(text: string, fileName: string): CsvTable {
  checkDevFileSize(text.length, fileName);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delimiter = TAB_EXTENSIONS.test(fileName) ? '\t' : undefined;
  // Files with lone CR line ends (old Mac exports) count lines by CR.
  const newline = text.includes('\n') ? '\n' : '\r';
  const parsed: { header: string[] | null; rows: string[][]; lines: number[]; failure: DatasetError | null } = { header: null, rows: [], lines: [], failure: null };
  // Line numbers: papaparse gives the offset after each row; the next row starts past the line breaks there.
  let offset = 0;
  let line = 1;
  Papa.parse<string[]>(text, {
    delimiter,
    delimitersToGuess: [',', ';', '\t', '|'],
    skipEmptyLines: 'greedy',
    step: (result, handle) => {
      let start = offset;
      // Skipped blank (or white-space-only) lines lie between the last row and this one.
      while (start < result.meta.cursor && /\s/.test(text[start]!)) start++;
      line += countOf(newline, text, offset, start);
      const rowLine = line;
      line += countOf(newline, text, start, result.meta.cursor);
      offset = result.meta.cursor;
      const at = `${fileName}, line ${rowLine}`;
      const quoteError = result.errors.find((e) => e.type === 'Quotes');
      if (quoteError) {
        const problem = quoteError.code === 'MissingQuotes' ? 'a quoted field is not closed' : 'a quoted field is malformed';
        parsed.failure = new DatasetError(fileName, `${at}: ${problem} (${quoteError.message})`, rowLine);
      } else if (parsed.header === null) {
        parsed.header = result.data.map((cell) => cell.trim());
      } else if (result.data.length !== parsed.header.length) {
        parsed.failure = new DatasetError(fileName, `${at}: ${result.data.length} cells, but the header row has ${parsed.header.length} columns`, rowLine);
      } else if (parsed.rows.length >= MAX_DEV_ROWS) {
        parsed.failure = new DatasetError(fileName, `${fileName}: more than ${MAX_DEV_ROWS} rows; sample the dev set down first`, rowLine);
      } else {
        parsed.rows.push(result.data);
        parsed.lines.push(rowLine);
      }
      if (parsed.failure) handle.abort();
    },
  });
  const { header, rows, lines, failure } = parsed;
  if (failure) throw failure;
  if (header === null) throw new DatasetError(fileName, `${fileName}: no rows (the file is empty)`);
  if (rows.length === 0) throw new DatasetError(fileName, `${fileName}: only a header row, no data rows`);
  return { fileName, header, rows, lines };
}

function countOf(char: string, text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text[i] === char) n++;
  return n;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Column whose header matches one of the names: a whole-name match first, then a word of it ("review_text"). */
function byName(table: CsvTable, names: readonly string[], taken: ReadonlySet<number>): number | undefined {
  const free = table.header.map((h, i) => ({ i, whole: normalise(h), words: h.toLowerCase().split(/[^a-z0-9]+/) })).filter((c) => !taken.has(c.i));
  for (const name of names) {
    const hit = free.find((c) => c.whole === name);
    if (hit) return hit.i;
  }
  for (const name of names) {
    const hit = free.find((c) => c.words.includes(name));
    if (hit) return hit.i;
  }
  return undefined;
}

function sampleColumn(table: CsvTable, index: number): string[] {
  return table.rows.slice(0, GUESS_SAMPLE_ROWS).map((r) => r[index]!);
}

/** The column with the longest cells on average: prose is longer than ids, labels and tags. */
function longestColumn(table: CsvTable, taken: ReadonlySet<number>): number | undefined {
  let best: { i: number; mean: number } | undefined;
  table.header.forEach((_, i) => {
    if (taken.has(i)) return;
    const cells = sampleColumn(table, i);
    const mean = cells.reduce((n, c) => n + c.length, 0) / cells.length;
    if (mean > 0 && (!best || mean > best.mean)) best = { i, mean };
  });
  return best?.i;
}

/** The column with the fewest distinct values, none empty: a label column repeats a few labels. */
function fewestValuesColumn(table: CsvTable, taken: ReadonlySet<number>): number | undefined {
  let best: { i: number; distinct: number } | undefined;
  table.header.forEach((_, i) => {
    if (taken.has(i)) return;
    const cells = sampleColumn(table, i).map((c) => c.trim());
    if (cells.some((c) => c === '')) return;
    const distinct = new Set(cells).size;
    // Every row different (an id column) is no label, unless there are too few rows to tell.
    if (distinct > MAX_GUESSED_LABELS || (distinct === cells.length && cells.length > 2)) return;
    if (!best || distinct < best.distinct) best = { i, distinct };
  });
  return best?.i;
}

/**
 * Which columns hold the text, the label and (optionally) the domain: by header name first
 * (text/sentence/content/body…, label/class/target…, domain/group…), else the text is the column
 * with the longest cells and the label the one with the fewest distinct values. The domain is only
 * taken by name. Throws DatasetError naming the file and listing its columns when no guess fits.
 */
export function guessColumns(table: CsvTable): ColumnChoice {
  const { fileName } = table;
  if (table.header.length < 2) {
    throw new DatasetError(
      fileName,
      `${fileName}: found one column (${listColumns(table)}); a dev set needs a text and a label column, with a header row naming them`,
    );
  }
  const taken = new Set<number>();
  const labelByName = byName(table, LABEL_NAMES, taken);
  if (labelByName !== undefined) taken.add(labelByName);
  const text = byName(table, TEXT_NAMES, taken) ?? longestColumn(table, taken);
  if (text === undefined) {
    throw new DatasetError(fileName, `${fileName}: no column looks like the text (columns: ${listColumns(table)}); name it "text" in the header row`);
  }
  taken.add(text);
  const label = labelByName ?? fewestValuesColumn(table, taken);
  if (label === undefined) {
    throw new DatasetError(
      fileName,
      `${fileName}: no column looks like the label (columns: ${listColumns(table)}); name it "label" in the header row (the first row is read as the header)`,
    );
  }
  taken.add(label);
  const domain = byName(table, DOMAIN_NAMES, taken);
  return domain === undefined ? { text, label } : { text, label, domain };
}

/** Refuses a choice that names a missing column or uses one column twice; the message lists the columns. */
export function checkColumnChoice(table: CsvTable, choice: ColumnChoice): void {
  const { fileName } = table;
  const roles: [string, number | undefined][] = [['text', choice.text], ['label', choice.label], ['domain', choice.domain]];
  for (const [role, index] of roles) {
    if (index === undefined && role === 'domain') continue;
    if (!Number.isSafeInteger(index) || index! < 0 || index! >= table.header.length) {
      throw new DatasetError(fileName, `${fileName}: no column ${String(index)} for the ${role} (columns: ${listColumns(table)})`);
    }
  }
  const used = roles.filter(([, i]) => i !== undefined);
  for (let a = 0; a < used.length; a++) {
    for (let b = a + 1; b < used.length; b++) {
      if (used[a]![1] === used[b]![1]) {
        throw new DatasetError(fileName, `${fileName}: column "${columnName(table, used[a]![1]!)}" cannot be both the ${used[a]![0]} and the ${used[b]![0]}`);
      }
    }
  }
}

/**
 * Rows for encodeDataset from the chosen columns. A label of digits is a label index, anything
 * else a label name (as in JSONL, where 1 and "spam" both work); labels and domains are trimmed.
 * Throws DatasetError naming the file and line on an empty text or label.
 */
export function tableRows(table: CsvTable, choice: ColumnChoice): DevRow[] {
  checkColumnChoice(table, choice);
  const { fileName } = table;
  const textName = columnName(table, choice.text);
  const labelName = columnName(table, choice.label);
  return table.rows.map((cells, r) => {
    const line = table.lines[r]!;
    const fail = (problem: string) => new DatasetError(fileName, `${fileName}, line ${line}: ${problem}`, line);
    const text = cells[choice.text]!;
    if (text.trim() === '') throw fail(`empty text (column "${textName}")`);
    const rawLabel = cells[choice.label]!.trim();
    if (rawLabel === '') throw fail(`empty label (column "${labelName}")`);
    const index = /^\d+$/.test(rawLabel) ? Number(rawLabel) : NaN;
    const row: DevRow = { text, label: Number.isSafeInteger(index) ? index : rawLabel, line };
    const domain = choice.domain === undefined ? '' : cells[choice.domain]!.trim();
    if (domain !== '') row.domain = domain;
    return row;
  });
}

/**
 * The choice with one role moved to another column (null: no domain). When the text or the label
 * takes a column already in use, the domain gives it up and the text and label swap columns; the
 * domain cannot take the text's or label's column (checkColumnChoice says so).
 */
export function chooseColumn(choice: ColumnChoice, role: keyof ColumnChoice, column: number | null): ColumnChoice {
  const next: ColumnChoice = { ...choice };
  if (column === null) {
    if (role === 'domain') delete next.domain;
    return next;
  }
  if (role !== 'domain') {
    const other = role === 'text' ? 'label' : 'text';
    if (choice.domain === column) delete next.domain;
    if (choice[other] === column) next[other] = choice[role];
  }
  next[role] = column;
  return next;
}

function shorten(cell: string): string {
  const flat = cell.replace(/\s+/g, ' ').trim();
  return flat.length > PREVIEW_CELL_CHARS ? `${flat.slice(0, PREVIEW_CELL_CHARS - 1)}…` : flat;
}

/** The first rows of a table with cells cut short and white space collapsed, for the column-choice table. */
export function previewTable(table: CsvTable, choice: ColumnChoice): TablePreview {
  return {
    fileName: table.fileName,
    columns: table.header.map((_, i) => columnName(table, i)),
    rows: table.rows.slice(0, PREVIEW_ROWS).map((r) => r.map(shorten)),
    rowCount: table.rows.length,
    choice: { ...choice },
  };
}
