/** CSV/TSV dev and held-out sets in the workspace: same encoding as JSONL, column choice, errors by file name. */
import { describe, expect, it } from 'vitest';
import { hasSamples, sampleBytes, sampleFiles, sampleManifest } from '../testing/samples';
import type { NamedBytes } from '../protocol/files';
import { Workspace } from './workspace';

/** Quotes every cell (the texts hold commas, quotes and line breaks); CRLF line ends as spreadsheet exports write them. */
function toCsv(header: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number) => `"${String(v).replace(/"/g, '""')}"`;
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** The sample's JSONL file as CSV with unusual column names and order, labels written as names. */
function sampleAsCsv(jsonlName: string, csvName: string): NamedBytes {
  const labels = sampleManifest().labels;
  const rows = new TextDecoder()
    .decode(sampleBytes(jsonlName))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const row = JSON.parse(l) as { text: string; label: number; domain: string };
      return [i + 1, row.text, labels[row.label]!, row.domain];
    });
  return { name: csvName, bytes: new TextEncoder().encode('\uFEFF' + toCsv(['id', 'message', 'is_spam', 'source'], rows)) };
}

function loadWith(replace: Record<string, NamedBytes>): Workspace {
  const ws = new Workspace();
  const files = sampleFiles().map((f) => replace[f.name] ?? f);
  const report = ws.addFiles(files);
  expect(report.problems).toEqual([]);
  return ws;
}

describe.skipIf(!hasSamples)('CSV dev sets', () => {
  const manifest = hasSamples ? sampleManifest() : null;

  it('a CSV made from the sample dev rows encodes to exactly the JSONL dataset once its columns are chosen', () => {
    const jsonl = loadWith({}).splits();
    const ws = loadWith({ [manifest!.dev]: sampleAsCsv(manifest!.dev, 'dev.csv') });
    // Guessed: "message" by name, "is_spam" as the column with the fewest values; "source" is not taken as the domain.
    expect(ws.snapshot().dataset!.tables!.dev!.choice).toEqual({ text: 1, label: 2 });
    expect(ws.snapshot().dataset!.domains).toEqual([]);

    ws.setDatasetColumns('dev.csv', { text: 1, label: 2, domain: 3 });
    const csv = ws.splits();
    expect(csv.dev.size).toBe(jsonl.dev.size);
    expect(csv.dev.inputIds).toEqual(jsonl.dev.inputIds);
    expect(csv.dev.attentionMask).toEqual(jsonl.dev.attentionMask);
    expect(csv.dev.labels).toEqual(jsonl.dev.labels);
    expect(csv.dev.domains).toEqual(jsonl.dev.domains);
    expect(csv.summary).toEqual({ ...jsonl.summary, devFile: 'dev.csv', tables: csv.summary.tables });

    const preview = csv.summary.tables!.dev!;
    expect(preview.columns).toEqual(['id', 'message', 'is_spam', 'source']);
    expect(preview.rows).toHaveLength(5);
    expect(preview.rows[0]!.slice(2)).toEqual([manifest!.labels[0], 'easy-ham-1']);
    expect(preview.choice).toEqual({ text: 1, label: 2, domain: 3 });
    expect(csv.summary.tables!.heldout).toBeUndefined();
  });

  it('a held-out CSV is recognised by its name, like a held-out JSONL', () => {
    const ws = loadWith({ [manifest!.heldout]: sampleAsCsv(manifest!.heldout, 'heldout.csv') });
    const summary = ws.snapshot().dataset!;
    expect(summary.heldoutSource).toBe('file');
    expect(summary.heldoutFile).toBe('heldout.csv');
    expect(summary.tables!.heldout!.fileName).toBe('heldout.csv');
    expect(summary.tables!.dev).toBeUndefined();
  });

  it('a label column that does not fit the model is refused by file name and column; the previous choice stays', () => {
    const ws = loadWith({ [manifest!.dev]: sampleAsCsv(manifest!.dev, 'dev.csv') });
    const before = ws.snapshot().dataset!;
    expect(() => ws.setDatasetColumns('dev.csv', { text: 1, label: 3 })).toThrow(
      /^dev\.csv, line 2: unknown label "easy-ham-1" \(expected one of "ham", "spam"\) \(reading text column "message", label column "source"\)$/,
    );
    expect(() => ws.setDatasetColumns('dev.csv', { text: 1, label: 1 })).toThrow('dev.csv: column "message" cannot be both the text and the label');
    expect(() => ws.setDatasetColumns('dev.jsonl', { text: 1, label: 2 })).toThrow('No dev or held-out file named dev.jsonl is loaded.');
    expect(ws.snapshot().dataset).toEqual(before);
    expect(ws.splits().summary.devBalance).toEqual(before.devBalance);
  });

  it('a CSV whose columns cannot be guessed is refused naming its columns, and the loaded dev set stays', () => {
    const ws = loadWith({});
    const bad = { name: 'more-dev.csv', bytes: new TextEncoder().encode('p,q\nfirst,1\nsecond,2\nthird,3\n') };
    const report = ws.addFiles([bad]);
    expect(report.accepted).toEqual([]);
    expect(report.problems).toEqual([{ fileName: 'more-dev.csv', message: expect.stringMatching(/^more-dev\.csv: no column looks like the label \(columns: "p", "q"\)/) }]);
    expect(report.dataset!.devFile).toBe(manifest!.dev);
  });

  it('a TSV dev set loads with the guessed columns', () => {
    const tsv = 'label\ttext\n1\tcheap pills, buy now\n0\tsee you at the meeting\n';
    const report = loadWith({}).addFiles([{ name: 'small.tsv', bytes: new TextEncoder().encode(tsv) }]);
    expect(report.problems).toEqual([]);
    expect(report.dataset!.devFile).toBe('small.tsv');
    // The sample's heldout.jsonl stays the held-out set, so all rows are dev rows.
    expect(report.dataset!.devSize).toBe(2);
    expect(report.dataset!.devBalance).toEqual([1, 1]);
    expect(report.dataset!.tables!.dev!.choice).toEqual({ text: 1, label: 0 });
  });
});
