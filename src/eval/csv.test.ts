import { describe, expect, it } from 'vitest';
import { catchDatasetError } from '../testing/dataset-errors';
import { MAX_DEV_FILE_BYTES } from './dataset';
import { PREVIEW_CELL_CHARS, PREVIEW_ROWS, checkColumnChoice, chooseColumn, guessColumns, parseCsv, parseCsvBytes, previewTable, tableRows } from './csv';

const catchError = catchDatasetError;

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('parseCsv', () => {
  it('reads quoted cells holding commas, quotes and line breaks, and numbers rows by the line they start on', () => {
    const table = parseCsv('text,label\n"Hello, world",spam\n"a ""quoted"" word",ham\n"two\nlines",spam\n   \nplain,ham\n', 'dev.csv');
    expect(table.header).toEqual(['text', 'label']);
    expect(table.rows).toEqual([
      ['Hello, world', 'spam'],
      ['a "quoted" word', 'ham'],
      ['two\nlines', 'spam'],
      ['plain', 'ham'],
    ]);
    expect(table.lines).toEqual([2, 3, 4, 7]);
  });

  it('drops a BOM, reads CRLF line ends and skips blank lines', () => {
    const table = parseCsvBytes(utf8('\uFEFFtext,label\r\nfirst,1\r\n\r\n"se\r\ncond",0\r\nthird,1'), 'dev.csv');
    expect(table.header).toEqual(['text', 'label']);
    expect(table.rows).toEqual([
      ['first', '1'],
      ['se\r\ncond', '0'],
      ['third', '1'],
    ]);
    expect(table.lines).toEqual([2, 4, 6]);
  });

  it('splits a .tsv file on tabs, and detects a semicolon-separated .csv', () => {
    expect(parseCsv('text\tlabel\nhas, commas\tspam\n', 'dev.tsv').rows).toEqual([['has, commas', 'spam']]);
    expect(parseCsv('text;label\nEin Satz, mit Komma;spam\nnoch einer;ham\n', 'dev.csv').rows).toEqual([
      ['Ein Satz, mit Komma', 'spam'],
      ['noch einer', 'ham'],
    ]);
  });

  it('names the file and line of a row with the wrong number of cells', () => {
    const err = catchError(() => parseCsv('text,label\nok,1\n"a\nb",1,extra\n', 'dev.csv'));
    expect(err.message).toBe('dev.csv, line 3: 3 cells, but the header row has 2 columns');
    expect(err.fileName).toBe('dev.csv');
    expect(err.line).toBe(3);
  });

  it('names the file and line of a quote that is never closed', () => {
    const err = catchError(() => parseCsv('text,label\nok,1\n"never closed,1\nmore,0\n', 'dev.csv'));
    expect(err.message).toMatch(/^dev\.csv, line 3: a quoted field is not closed/);
  });

  it('refuses an empty file, a header without rows, invalid UTF-8 and an oversized file, by name', () => {
    expect(catchError(() => parseCsv('', 'a.csv')).message).toBe('a.csv: no rows (the file is empty)');
    expect(catchError(() => parseCsv('\n\n', 'a.csv')).message).toBe('a.csv: no rows (the file is empty)');
    expect(catchError(() => parseCsv('text,label\n', 'b.csv')).message).toBe('b.csv: only a header row, no data rows');
    expect(catchError(() => parseCsvBytes(new Uint8Array([0x74, 0xff, 0x0a]), 'c.csv')).message).toBe('c.csv: not valid UTF-8 text');
    expect(catchError(() => parseCsvBytes({ byteLength: MAX_DEV_FILE_BYTES + 1 } as Uint8Array, 'd.csv')).message).toMatch(/^d\.csv: \d+ MB is over the/);
  });
});

describe('guessColumns', () => {
  it('goes by header names, in any case and order, and finds the domain', () => {
    expect(guessColumns(parseCsv('Domain,Label,Sentence\nnews,1,Some words here\n', 'a.csv'))).toEqual({ text: 2, label: 1, domain: 0 });
    expect(guessColumns(parseCsv('id,review_text,class\n1,Good film,pos\n', 'a.csv'))).toEqual({ text: 1, label: 2 });
    expect(guessColumns(parseCsv('target,body,group\n0,hello there,g1\n', 'a.csv'))).toEqual({ text: 1, label: 0, domain: 2 });
  });

  it('without telling names, takes the longest cells as text and the fewest distinct values as label', () => {
    const csv = 'id,a,b,c\n1,spam,a fairly long piece of prose,x\n2,ham,another longer sentence of text,y\n3,spam,and a third one here,z\n';
    expect(guessColumns(parseCsv(csv, 'a.csv'))).toEqual({ text: 2, label: 1 });
  });

  it('fails naming the file and listing its columns when no column can be the label', () => {
    // Every cell of each short column is different: ids, not classes; the header row is probably missing.
    const err = catchError(() => guessColumns(parseCsv('p,q\nfirst sentence,1\nsecond sentence,2\nthird sentence,3\n', 'data.csv')));
    expect(err.message).toBe('data.csv: no column looks like the label (columns: "p", "q"); name it "label" in the header row (the first row is read as the header)');
  });

  it('fails naming the file and its column when there is only one', () => {
    const err = catchError(() => guessColumns(parseCsv('text\nhello\nworld\n', 'one.csv')));
    expect(err.message).toBe('one.csv: found one column ("text"); a dev set needs a text and a label column, with a header row naming them');
  });
});

describe('tableRows', () => {
  const table = parseCsv('id,message,is_spam,source\n7,"Win, now!",1,spam-2\n8,Meeting at 3,0,\n9,Lunch?,ham,easy-ham-1\n', 'dev.csv');

  it('gives the same rows as JSONL: digit labels are class indices, other labels names, empty domains none', () => {
    expect(tableRows(table, { text: 1, label: 2, domain: 3 })).toEqual([
      { text: 'Win, now!', label: 1, domain: 'spam-2', line: 2 },
      { text: 'Meeting at 3', label: 0, line: 3 },
      { text: 'Lunch?', label: 'ham', domain: 'easy-ham-1', line: 4 },
    ]);
  });

  it('names the file, line and column of an empty label or text', () => {
    // Row 2 has no source: as the label column that is an empty label.
    expect(catchError(() => tableRows(table, { text: 1, label: 3 })).message).toBe('dev.csv, line 3: empty label (column "source")');
    expect(catchError(() => tableRows(table, { text: 3, label: 2 })).message).toBe('dev.csv, line 3: empty text (column "source")');
  });

  it('refuses a column that does not exist or is used twice, listing the columns', () => {
    expect(catchError(() => checkColumnChoice(table, { text: 1, label: 9 })).message).toBe(
      'dev.csv: no column 9 for the label (columns: "id", "message", "is_spam", "source")',
    );
    expect(catchError(() => checkColumnChoice(table, { text: 1, label: 2, domain: 1 })).message).toBe('dev.csv: column "message" cannot be both the text and the domain');
  });
});

describe('previewTable', () => {
  it('keeps the first rows with cells cut short on one line, names empty headers by position', () => {
    const long = 'word '.repeat(40);
    const csv = ['"",text,label', ...Array.from({ length: 8 }, (_, i) => `${i},"${long}\nline two",${i % 2}`)].join('\n');
    const preview = previewTable(parseCsv(csv, 'p.csv'), { text: 1, label: 2 });
    expect(preview.columns).toEqual(['column 1', 'text', 'label']);
    expect(preview.rowCount).toBe(8);
    expect(preview.rows).toHaveLength(PREVIEW_ROWS);
    expect(preview.rows[0]![1]!.length).toBe(PREVIEW_CELL_CHARS);
    expect(preview.rows[0]![1]).toMatch(/^word word .*…$/);
    expect(preview.rows[0]![1]).not.toContain('\n');
    expect(preview.choice).toEqual({ text: 1, label: 2 });
  });
});

describe('chooseColumn', () => {
  const choice = { text: 1, label: 2, domain: 3 };

  it('moves one role, leaving the others', () => {
    expect(chooseColumn(choice, 'text', 0)).toEqual({ text: 0, label: 2, domain: 3 });
    expect(chooseColumn(choice, 'domain', 0)).toEqual({ text: 1, label: 2, domain: 0 });
    expect(chooseColumn(choice, 'domain', null)).toEqual({ text: 1, label: 2 });
    expect(choice).toEqual({ text: 1, label: 2, domain: 3 });
  });

  it('takes a column from another role: the domain gives it up, text and label swap', () => {
    expect(chooseColumn(choice, 'label', 3)).toEqual({ text: 1, label: 3 });
    expect(chooseColumn(choice, 'text', 2)).toEqual({ text: 2, label: 1, domain: 3 });
    // The domain cannot take the label's column: the choice says so when checked.
    const table = parseCsv('a,b,c,d\n1,2,3,4\n', 't.csv');
    expect(() => checkColumnChoice(table, chooseColumn(choice, 'domain', 2))).toThrow('t.csv: column "c" cannot be both the label and the domain');
  });
});
