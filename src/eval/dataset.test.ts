import { describe, expect, it } from 'vitest';
import { catchDatasetError } from '../testing/dataset-errors';
import {
  DatasetError,
  MAX_DEV_FILE_BYTES,
  MAX_DEV_ROWS,
  checkDevFileSize,
  encodeDataset,
  parseJsonl,
  parseJsonlBytes,
  subsetDataset,
} from './dataset';
import type { DevRow, EncodedDataset } from './dataset';
import type { TextTokenizer } from './tokenize';
import { mulberry32 } from '../testing/seeded';
import { sequenceClassification } from './tasks/sequence-classification';

const catchError = catchDatasetError;

/** Hashes each whitespace word to an id in [3, 1000), prepends 2 ([CLS]); honours maxLength. */
const fakeTokenizer: TextTokenizer = {
  padId: 0,
  encode(text: string, maxLength?: number) {
    const ids = [2];
    for (const w of text.split(/\s+/).filter(Boolean)) {
      let h = 7;
      for (const ch of w) h = (h * 31 + ch.charCodeAt(0)) % 997;
      ids.push(3 + h);
    }
    return maxLength === undefined ? ids : ids.slice(0, maxLength);
  },
};

describe('parseJsonl', () => {
  it('reads text rows with labels and domains, skipping blank lines (CRLF too)', () => {
    const text = [
      '{"text": "Hello there", "label": 0, "domain": "easy-ham-1"}',
      '',
      '   ',
      '{"text": "WIN MONEY", "label": "spam", "domain": "spam-2"}\r',
      '{"text": "meeting notes", "label": 1}',
    ].join('\n');
    const rows = parseJsonl(text, 'dev.jsonl');
    expect(rows).toEqual([
      { text: 'Hello there', label: 0, domain: 'easy-ham-1', line: 1 },
      { text: 'WIN MONEY', label: 'spam', domain: 'spam-2', line: 4 },
      { text: 'meeting notes', label: 1, line: 5 },
    ]);
  });

  it('takes numbers and booleans as domain names (their string), null as no domain', () => {
    const text = [
      '{"text": "a", "label": 0, "domain": 1}',
      '{"text": "b", "label": 1, "domain": 0}',
      '{"text": "c", "label": 0, "domain": true}',
      '{"text": "d", "label": 0, "domain": null}',
      '{"text": "e", "label": 0, "domain": 10}',
      '{"text": "f", "label": 0, "domain": 2.5}',
    ].join('\n');
    const rows = parseJsonl(text, 'hf.jsonl');
    expect(rows.map((r) => r.domain)).toEqual(['1', '0', 'true', undefined, '10', '2.5']);
    const ds = encodeDataset(rows, { fileName: 'hf.jsonl', tokenizer: fakeTokenizer, sequenceLength: 4, padId: 0, labelCount: 2 });
    expect(ds.domains).toEqual(['1', '0', 'true', '', '10', '2.5']);
    // Integer names sort as numbers, before the other names.
    expect(ds.domainNames).toEqual(['0', '1', '10', '2.5', 'true']);
  });

  it('reads pre-tokenized rows with optional attention_mask', () => {
    const text = '{"input_ids": [2, 5, 9], "attention_mask": [1, 1, 0], "label": 1}\n{"input_ids": [2, 7], "label": 0, "text": "shown"}\n';
    expect(parseJsonl(text, 'ids.jsonl')).toEqual([
      { inputIds: [2, 5, 9], attentionMask: [1, 1, 0], label: 1, line: 1 },
      { inputIds: [2, 7], label: 0, text: 'shown', line: 2 },
    ]);
  });

  it('drops a UTF-8 BOM and decodes bytes', () => {
    const bytes = new TextEncoder().encode('\ufeff{"text": "café", "label": 0}\n');
    expect(parseJsonlBytes(bytes, 'bom.jsonl')).toEqual([{ text: 'café', label: 0, line: 1 }]);
    expect(() => parseJsonlBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'bin.jsonl')).toThrow(/bin\.jsonl: not valid UTF-8/);
  });

  const cases: [string, string, RegExp, number | undefined][] = [
    ['invalid JSON', '{"text": "a", "label": 0}\n{"text": "b", "label": 0', /f\.jsonl, line 2: invalid JSON/, 2],
    ['a non-object row', '[1, 2]', /f\.jsonl, line 1: expected a JSON object/, 1],
    ['neither text nor input_ids', '{"label": 0, "domain": "x"}', /f\.jsonl, line 1: row has neither "text" nor "input_ids"/, 1],
    ['empty text', '{"text": "  \\n ", "label": 0}', /f\.jsonl, line 1: empty "text"/, 1],
    ['non-string text', '{"text": 5, "label": 0}', /line 1: "text" must be a string/, 1],
    ['non-integer ids', '{"input_ids": [2, 3.5], "label": 0}', /f\.jsonl, line 1: "input_ids" must hold integers ≥ 0, item 1 is 3\.5/, 1],
    ['string ids', '{"input_ids": ["2"], "label": 0}', /line 1: "input_ids" must hold integers/, 1],
    ['empty ids', '{"input_ids": [], "label": 0}', /line 1: "input_ids" must be a non-empty array/, 1],
    ['a mask of the wrong length', '{"input_ids": [2, 3], "attention_mask": [1], "label": 0}', /line 1: "attention_mask" must be an array as long/, 1],
    ['a mask with other values', '{"input_ids": [2, 3], "attention_mask": [1, 2], "label": 0}', /line 1: "attention_mask" must hold 0 or 1/, 1],
    ['an object domain', '{"text": "a", "label": 0, "domain": {"id": 3}}', /f\.jsonl, line 1: "domain" must be a domain name \(a string, number or boolean\), got an object \{"id":3\}/, 1],
    ['an array domain', '{"text": "a", "label": 0}\n{"text": "b", "label": 0, "domain": [1]}', /f\.jsonl, line 2: "domain" must be a domain name .*got an array \[1\]/, 2],
    [
      'mixed row kinds',
      '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n{"input_ids": [1], "label": 0}',
      /f\.jsonl, line 3: mixed row kinds: this is an input_ids row but line 1 is a text row/,
      3,
    ],
    ['an empty file', '\n  \n', /f\.jsonl: no rows/, undefined],
  ];
  // Labels are the task's to require: a classifier's rows are checked when encoded.
  const labelCases: [string, string, RegExp, number][] = [
    ['a missing label', '\n\n{"input_ids": [2]}', /f\.jsonl, line 3: missing "label"/, 3],
    ['a fractional label', '{"input_ids": [2], "label": 1.5}', /line 1: "label" must be a label index/, 1],
    ['a negative label', '{"input_ids": [2], "label": -1}', /line 1: "label" must be a label index/, 1],
  ];
  for (const [what, text, message, line] of labelCases) {
    it(`rejects ${what} when encoding for a classifier, naming file and line`, () => {
      const err = catchError(() => encodeDataset(parseJsonl(text, 'f.jsonl'), { fileName: 'f.jsonl', sequenceLength: 4, padId: 0, labelCount: 2 }));
      expect(err).toBeInstanceOf(DatasetError);
      expect(err.message).toMatch(message);
      expect((err as DatasetError).line).toBe(line);
    });
  }
  it('parses the rows of the language-model tasks and names the file and line of a bad field', () => {
    expect(parseJsonl('{"text": "a b c"}\n{"text": "d", "label": 0.25}', 'lm.jsonl')).toEqual([
      { text: 'a b c', line: 1 },
      { text: 'd', label: 0.25, line: 2 },
    ]);
    expect(parseJsonl('{"context": "a", "choices": ["b", "c"], "label": 1}', 'mc.jsonl')).toEqual([{ context: 'a', choices: ['b', 'c'], label: 1, line: 1 }]);
    expect(parseJsonl('{"tokens": ["a", "b"], "tags": ["O", 2]}', 't.jsonl')).toEqual([{ tokens: ['a', 'b'], tags: ['O', 2], line: 1 }]);
    expect(parseJsonl('{"input_ids": [2, 5], "labels": [-100, 3]}', 'p.jsonl')).toEqual([{ inputIds: [2, 5], tokenLabels: [-100, 3], line: 1 }]);
    expect(() => parseJsonl('{"context": "a", "choices": "b"}', 'mc.jsonl')).toThrow(/mc\.jsonl, line 1: "choices" must be an array of at least 2 strings/);
    expect(() => parseJsonl('{"tokens": ["a", "b"], "tags": ["O"]}', 't.jsonl')).toThrow(/t\.jsonl, line 1: "tags" has 1 items but "tokens" has 2/);
    expect(() => parseJsonl('{"input_ids": [2], "labels": [-5]}', 'p.jsonl')).toThrow(/p\.jsonl, line 1: "labels" must hold label indices or -100, item 0 is -5/);
  });

  it('rejects a label that is not an index, a name or a number', () => {
    expect(() => parseJsonl('{"text": "a", "label": [1]}', 'f.jsonl')).toThrow(/line 1: "label" must be a label index \(integer ≥ 0\), a label name or a number/);
  });

  for (const [what, text, message, line] of cases) {
    it(`rejects ${what}, naming file and line`, () => {
      const err = catchError(() => parseJsonl(text, 'f.jsonl'));
      expect(err).toBeInstanceOf(DatasetError);
      expect(err.message).toMatch(message);
      expect(err.fileName).toBe('f.jsonl');
      expect(err.line).toBe(line);
    });
  }

  it('refuses files over the size cap', () => {
    expect(() => checkDevFileSize(MAX_DEV_FILE_BYTES, 'ok.jsonl')).not.toThrow();
    const err = catchError(() => checkDevFileSize(MAX_DEV_FILE_BYTES + 1, 'huge.jsonl'));
    expect(err.message).toMatch(/huge\.jsonl: 200 MB is over the 200 MB limit/);
  });

  it('refuses more than the row cap', () => {
    const row = '{"input_ids":[1],"label":0}\n';
    expect(parseJsonl(row.repeat(3), 'small.jsonl')).toHaveLength(3);
    const err = catchError(() => parseJsonl(row.repeat(MAX_DEV_ROWS + 1), 'many.jsonl'));
    expect(err.message).toMatch(/many\.jsonl: more than 1000000 rows/);
  });
});

function randomIdRows(rand: () => number, n: number, maxLen: number, withMask: boolean): DevRow[] {
  const rows: DevRow[] = [];
  const domains = ['easy-ham-1', 'hard-ham-1', 'spam-2', ''];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(rand() * maxLen);
    const inputIds = Array.from({ length: len }, () => 1 + Math.floor(rand() * 5000));
    const row: DevRow = { inputIds, label: Math.floor(rand() * 3), line: i + 1 };
    if (withMask) row.attentionMask = inputIds.map((_, t) => (t < len - 1 || rand() < 0.5 ? 1 : 0));
    const d = domains[Math.floor(rand() * domains.length)];
    if (d !== '') row.domain = d;
    rows.push(row);
  }
  return rows;
}

describe('encodeDataset', () => {
  it('lays out pre-tokenized rows as [size, L], truncating and padding', () => {
    const rand = mulberry32(7);
    const L = 16;
    for (const withMask of [false, true]) {
      const rows = randomIdRows(rand, 57, 30, withMask);
      const ds = encodeDataset(rows, { fileName: 'ids.jsonl', sequenceLength: L, padId: 4242, labelCount: 3 });
      expect(ds.size).toBe(57);
      expect(ds.sequenceLength).toBe(L);
      expect(ds.labelCount).toBe(3);
      expect(ds.inputIds.length).toBe(57 * L);
      rows.forEach((row, r) => {
        const ids = row.inputIds!;
        for (let t = 0; t < L; t++) {
          const real = t < ids.length;
          expect(ds.inputIds[r * L + t]).toBe(BigInt(real ? ids[t] : 4242));
          expect(ds.attentionMask[r * L + t]).toBe(real ? BigInt(row.attentionMask?.[t] ?? 1) : 0n);
        }
        expect(ds.labels[r]).toBe(row.label);
        expect(ds.domains[r]).toBe(row.domain ?? '');
      });
      expect(ds.domainNames).toEqual(['easy-ham-1', 'hard-ham-1', 'spam-2']);
    }
  });

  it('tokenizes text rows with the tokenizer, capped at L', () => {
    const rows = parseJsonl(
      ['{"text": "alpha beta gamma", "label": 1}', '{"text": "one two three four five six seven eight", "label": 0}'].join('\n'),
      'text.jsonl',
    );
    const L = 5;
    const ds = encodeDataset(rows, { fileName: 'text.jsonl', tokenizer: fakeTokenizer, sequenceLength: L, padId: 0, labelCount: 2 });
    const a = fakeTokenizer.encode('alpha beta gamma');
    const b = fakeTokenizer.encode('one two three four five six seven eight');
    expect(Array.from(ds.inputIds.subarray(0, L), Number)).toEqual([...a, 0]);
    expect(Array.from(ds.attentionMask.subarray(0, L), Number)).toEqual([1, 1, 1, 1, 0]);
    expect(Array.from(ds.inputIds.subarray(L, 2 * L), Number)).toEqual(b.slice(0, L));
    expect(Array.from(ds.attentionMask.subarray(L, 2 * L), Number)).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(ds.labels)).toEqual([1, 0]);
    expect(ds.domainNames).toEqual([]);
  });

  it('passes L to the tokenizer so it can keep trailing special tokens', () => {
    const seen: (number | undefined)[] = [];
    const tok: TextTokenizer = { padId: 0, encode: (_t, max) => (seen.push(max), [2, 9, 3]) };
    encodeDataset([{ text: 'x', label: 0, line: 1 }], { fileName: 'f', tokenizer: tok, sequenceLength: 64, padId: 0 });
    expect(seen).toEqual([64]);
  });

  it('maps string labels through the label list', () => {
    const rows = parseJsonl('{"text": "a", "label": "spam"}\n{"text": "b", "label": "ham"}\n{"text": "c", "label": 1}', 'l.jsonl');
    const ds = encodeDataset(rows, { fileName: 'l.jsonl', tokenizer: fakeTokenizer, sequenceLength: 4, padId: 0, labels: ['ham', 'spam'] });
    expect(Array.from(ds.labels)).toEqual([1, 0, 1]);
    expect(ds.labelCount).toBe(2);
    expect(ds.labelNames).toEqual(['ham', 'spam']);
  });

  it('infers labelCount from the labels when not given', () => {
    const rows = randomIdRows(mulberry32(3), 40, 5, false).map((r) => ({ ...r, label: (r.label as number) + 2 }));
    expect(encodeDataset(rows, { fileName: 'f', sequenceLength: 4, padId: 0 }).labelCount).toBe(5);
  });

  it('rejects unknown and out-of-range labels, naming file, line and label', () => {
    const rows = parseJsonl('{"text": "a", "label": "ham"}\n{"text": "b", "label": "eggs"}', 'u.jsonl');
    let err = catchError(() => encodeDataset(rows, { fileName: 'u.jsonl', tokenizer: fakeTokenizer, sequenceLength: 4, padId: 0, labels: ['ham', 'spam'] }));
    expect(err.message).toMatch(/u\.jsonl, line 2: unknown label "eggs" \(expected one of "ham", "spam"\)/);
    expect(err.line).toBe(2);

    err = catchError(() => encodeDataset(rows, { fileName: 'u.jsonl', tokenizer: fakeTokenizer, sequenceLength: 4, padId: 0, labelCount: 2 }));
    expect(err.message).toMatch(/u\.jsonl, line 1: label "ham" is a name, but no label list was given/);

    const numeric = parseJsonl('{"input_ids": [1], "label": 0}\n\n{"input_ids": [1], "label": 2}', 'n.jsonl');
    err = catchError(() => encodeDataset(numeric, { fileName: 'n.jsonl', sequenceLength: 4, padId: 0, labelCount: 2 }));
    expect(err.message).toMatch(/n\.jsonl, line 3: label 2 is outside the model's 2 classes \(0\.\.1\)/);
  });

  it('rejects a label list that disagrees with labelCount', () => {
    const rows = parseJsonl('{"input_ids": [1], "label": 0}', 'm.jsonl');
    const err = catchError(() => encodeDataset(rows, { fileName: 'm.jsonl', sequenceLength: 4, padId: 0, labels: ['a', 'b', 'c'], labelCount: 2 }));
    expect(err.message).toMatch(/m\.jsonl: 3 label names given .* but the model has 2 classes/);
  });

  it('needs a tokenizer for text rows', () => {
    const rows = parseJsonl('{"text": "a", "label": 0}', 'needs.jsonl');
    const err = catchError(() => encodeDataset(rows, { fileName: 'needs.jsonl', sequenceLength: 4, padId: 0 }));
    expect(err.message).toMatch(/needs\.jsonl: rows carry "text", so a tokenizer\.json is needed/);
  });

  it('rejects ids outside the vocabulary when vocabSize is given', () => {
    const rows = parseJsonl('{"input_ids": [1, 2], "label": 0}\n{"input_ids": [1, 30522], "label": 0}', 'v.jsonl');
    expect(() => encodeDataset(rows, { fileName: 'v.jsonl', sequenceLength: 4, padId: 0, vocabSize: 30523 })).not.toThrow();
    const err = catchError(() => encodeDataset(rows, { fileName: 'v.jsonl', sequenceLength: 4, padId: 0, vocabSize: 30522 }));
    expect(err.message).toMatch(/v\.jsonl, line 2: token id 30522 at position 1 is outside the model's vocabulary/);
  });
});

describe('the classification balance and subsetDataset', () => {
  const rand = mulberry32(99);
  const rows = randomIdRows(rand, 83, 12, true);
  const ds: EncodedDataset = encodeDataset(rows, { fileName: 'f', sequenceLength: 8, padId: 1, labelCount: 4 });

  it('counts rows per class', () => {
    const expected = [0, 0, 0, 0];
    for (const r of rows) expected[r.label as number]++;
    expect(sequenceClassification.balance(ds)).toEqual(expected);
    expect(expected[3]).toBe(0); // class 3 never drawn: still reported
  });

  it('copies the chosen rows in order', () => {
    const indices = [82, 0, 41, 41, 7];
    const sub = subsetDataset(ds, indices);
    expect(sub.size).toBe(5);
    expect(sub.labelCount).toBe(4);
    const L = ds.sequenceLength;
    indices.forEach((i, k) => {
      expect(Array.from(sub.inputIds.subarray(k * L, (k + 1) * L))).toEqual(Array.from(ds.inputIds.subarray(i * L, (i + 1) * L)));
      expect(Array.from(sub.attentionMask.subarray(k * L, (k + 1) * L))).toEqual(Array.from(ds.attentionMask.subarray(i * L, (i + 1) * L)));
      expect(sub.labels[k]).toBe(ds.labels[i]);
      expect(sub.domains[k]).toBe(ds.domains[i]);
    });
    expect(sub.domainNames).toEqual([...new Set(indices.map((i) => ds.domains[i]).filter(Boolean))].sort());
    // a copy, not a view
    sub.inputIds[0] = -5n;
    expect(ds.inputIds[82 * L]).not.toBe(-5n);
  });

  it('rejects indices outside the dataset', () => {
    expect(() => subsetDataset(ds, [0, 83])).toThrow(RangeError);
    expect(() => subsetDataset(ds, [-1])).toThrow(/outside 0\.\.82/);
  });
});
