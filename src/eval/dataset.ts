// Dev-set handling: parse a dropped JSONL file and encode it into the fixed-shape int64 tensors the
// ONNX model takes (input_ids and attention_mask, [size, L] with the model's static L).
// Pure logic: text in, typed arrays out, so the eval worker, the CLI and Node tests share it.
//
// Row forms (one JSON object per line; blank lines are skipped):
//   {"text": "...", "label": 0, "domain": "spam-2"}                needs a tokenizer.json
//   (a domain may be a number or boolean too, `"domain": 1`: it names the domain "1")
//   {"input_ids": [2, 17, ...], "attention_mask": [1, 1, ...], "label": "spam"}
// A file is all text rows or all input_ids rows. A row carrying both is an input_ids row (the ids
// are authoritative; the text is kept for display).
import type { TextTokenizer } from './tokenize';
import { DatasetError } from './errors';
import type { DevRow } from './dev-row';
import { DEFAULT_TASK_ID } from './tasks/ids';
import { classLabels } from './tasks/class-labels';

export { DatasetError };
export type { DevRow };

/** Files larger than this are refused before parsing: the whole file is held as one string. */
export const MAX_DEV_FILE_BYTES = 200 * 1024 * 1024;
/** More rows than this would not fit an evaluation budget anyway; refuse early and say so. */
export const MAX_DEV_ROWS = 1_000_000;


export interface EncodedDataset {
  /** The task the rows were encoded for (eval/tasks/registry): it builds the inputs and scores them. */
  task: string;
  size: number;
  sequenceLength: number;
  /** size × sequenceLength, row-major, truncated to the first L tokens and padded with padId. */
  inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: BigInt64Array;
  /** Label index per row (what the task predicts for the row). */
  labels: Int32Array;
  /** Domain per row, '' where the row has none. */
  domains: string[];
  /** Distinct non-empty domains, sorted. */
  domainNames: string[];
  /** Size of the label space, what the model predicts. */
  labelCount: number;
  /** Label names when the caller gave them (index = label). */
  labelNames?: string[];
  /**
   * The graph takes any sequence length: a batch is cut to its longest row (a row's tokens are
   * the mask's 1s, padding comes after them). Without it every batch keeps sequenceLength.
   */
  dynamicLength?: boolean;
  /** Causal LM, multiple choice: size × L, 1 where the token is scored (predicted from the ones before). */
  targetMask?: BigInt64Array;
  /** Multiple choice: each row holds this many sequences of sequenceLength / choiceCount tokens. */
  choiceCount?: number;
  /** Multiple choice: size × choiceCount, each choice's length in characters (lm-eval's acc_norm). */
  choiceLengths?: Float64Array;
  /** Token classification: size × L, the label index of each token, -100 where none is scored. */
  tokenLabels?: Int32Array;
  /** Regression: the target of each row. */
  targets?: Float64Array;
}

interface RowArray<T> {
  subarray(begin: number, end: number): T;
  set(values: T, offset: number): void;
}

/** Rows `indices` of a row-major array of `width` values per row. */
function pickRows<T extends RowArray<T>>(src: T, width: number, indices: readonly number[], make: (n: number) => T): T {
  const dst = make(indices.length * width);
  indices.forEach((i, k) => dst.set(src.subarray(i * width, (i + 1) * width), k * width));
  return dst;
}

export interface EncodeDatasetParams {
  fileName: string;
  tokenizer?: TextTokenizer;
  sequenceLength: number;
  padId: number;
  /** Label names: string labels map through this list, and labelCount defaults to its length. */
  labels?: string[];
  labelCount?: number;
  /** When given, token ids must be below it (an out-of-range id would fail inside the model). */
  vocabSize?: number;
  /** The task the rows are for; DEFAULT_TASK_ID when not given. */
  task?: string;
  /** false: the rows carry no class label (a causal LM, a regression); labels are all 0. Default true. */
  requireLabels?: boolean;
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function describe(x: unknown): string {
  const s = JSON.stringify(x);
  return s === undefined ? String(x) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Refuses a file by byte size before it is read into a string. */
export function checkDevFileSize(byteLength: number, fileName: string): void {
  if (byteLength > MAX_DEV_FILE_BYTES) {
    const mb = (byteLength / (1024 * 1024)).toFixed(0);
    throw new DatasetError(
      fileName,
      `${fileName}: ${mb} MB is over the ${MAX_DEV_FILE_BYTES / (1024 * 1024)} MB limit for a dev set; sample it down first`,
    );
  }
}

/** A dev file's text: within the size limit and valid UTF-8, else a DatasetError naming the file. */
export function decodeDevText(bytes: Uint8Array, fileName: string): string {
  checkDevFileSize(bytes.byteLength, fileName);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DatasetError(fileName, `${fileName}: not valid UTF-8 text`);
  }
}

/** Decodes UTF-8 bytes (a BOM is dropped) and parses them as JSONL. */
export function parseJsonlBytes(bytes: Uint8Array, fileName: string): DevRow[] {
  return parseJsonl(decodeDevText(bytes, fileName), fileName);
}

function stringArray(value: unknown, key: string, fail: (problem: string) => DatasetError, minLength: number): string[] {
  if (!Array.isArray(value) || value.length < minLength) throw fail(`"${key}" must be an array of at least ${minLength} strings`);
  const bad = value.findIndex((v) => typeof v !== 'string');
  if (bad >= 0) throw fail(`"${key}" must hold strings, item ${bad} is ${describe(value[bad])}`);
  return value as string[];
}

/** The fields of multiple-choice and token-classification rows, checked for their types only. */
function readTaskFields(o: Record<string, unknown>, row: DevRow, fail: (problem: string) => DatasetError): void {
  if (o.context != null) {
    if (typeof o.context !== 'string') throw fail(`"context" must be a string, got ${describe(o.context)}`);
    row.context = o.context;
  }
  if (o.choices != null) row.choices = stringArray(o.choices, 'choices', fail, 2);
  if (o.tokens != null) row.tokens = stringArray(o.tokens, 'tokens', fail, 1);
  const tags = o.tags ?? o.ner_tags;
  if (tags != null) {
    if (!Array.isArray(tags)) throw fail(`"tags" must be an array, got ${describe(tags)}`);
    const bad = tags.findIndex((v) => typeof v !== 'string' && !isIndex(v));
    if (bad >= 0) throw fail(`"tags" must hold tag names or indices, item ${bad} is ${describe(tags[bad])}`);
    if (row.tokens !== undefined && tags.length !== row.tokens.length) throw fail(`"tags" has ${tags.length} items but "tokens" has ${row.tokens.length}`);
    row.tags = tags as (string | number)[];
  }
  if (Array.isArray(o.labels)) {
    const bad = o.labels.findIndex((v) => !(v === -100 || isIndex(v)));
    if (bad >= 0) throw fail(`"labels" must hold label indices or -100, item ${bad} is ${describe(o.labels[bad])}`);
    row.tokenLabels = o.labels as number[];
  }
}

function parseRow(obj: unknown, fileName: string, line: number): DevRow {
  const at = `${fileName}, line ${line}`;
  const fail = (problem: string) => new DatasetError(fileName, `${at}: ${problem}`, line);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw fail(`expected a JSON object, got ${describe(obj)}`);
  }
  const o = obj as Record<string, unknown>;

  // Whether a row needs a label is the task's call (a causal LM's rows have none); what a label
  // is, is checked here: an index, a name, or a number (a regression target).
  const row: DevRow = { line };
  const label = o.label;
  if (label !== undefined && label !== null) {
    if (typeof label === 'string') {
      if (label.length === 0) throw fail('empty "label"');
    } else if (typeof label !== 'number' || !Number.isFinite(label)) {
      throw fail(`"label" must be a label index (integer ≥ 0), a label name or a number, got ${describe(label)}`);
    }
    row.label = label;
  }

  // A domain is a label: HF datasets often number them (`"domain": 1`), so numbers and booleans
  // name a domain as their string; null is no domain, as elsewhere in a row.
  if (o.domain !== undefined && o.domain !== null) {
    const d = o.domain;
    if (typeof d !== 'string' && typeof d !== 'number' && typeof d !== 'boolean') {
      throw fail(`"domain" must be a domain name (a string, number or boolean), got ${Array.isArray(d) ? 'an array' : 'an object'} ${describe(d)}`);
    }
    const name = String(d).trim();
    if (name.length > 0) row.domain = name;
  }

  readTaskFields(o, row, fail);
  // A multiple-choice or word-tagged row carries its text in other fields.
  if (o.input_ids == null && o.text == null && (row.choices !== undefined || row.tokens !== undefined)) return row;

  if (o.input_ids !== undefined && o.input_ids !== null) {
    const ids = o.input_ids;
    if (!Array.isArray(ids) || ids.length === 0) throw fail('"input_ids" must be a non-empty array of integers');
    const bad = ids.findIndex((v) => !isIndex(v));
    if (bad >= 0) throw fail(`"input_ids" must hold integers ≥ 0, item ${bad} is ${describe(ids[bad])}`);
    row.inputIds = ids as number[];
    const mask = o.attention_mask;
    if (mask !== undefined && mask !== null) {
      if (!Array.isArray(mask) || mask.length !== ids.length) {
        throw fail(`"attention_mask" must be an array as long as "input_ids" (${ids.length})`);
      }
      const badMask = mask.findIndex((v) => v !== 0 && v !== 1);
      if (badMask >= 0) throw fail(`"attention_mask" must hold 0 or 1, item ${badMask} is ${describe(mask[badMask])}`);
      row.attentionMask = mask as number[];
    }
    if (typeof o.text === 'string') row.text = o.text;
  } else if (o.text !== undefined && o.text !== null) {
    if (typeof o.text !== 'string') throw fail(`"text" must be a string, got ${describe(o.text)}`);
    if (o.text.trim().length === 0) throw fail('empty "text"');
    row.text = o.text;
  } else {
    throw fail('row has neither "text" nor "input_ids"');
  }
  return row;
}

/**
 * Parses a JSONL dev set. Throws DatasetError naming the file and line on: invalid JSON, a missing
 * or malformed label, a row with neither text nor input_ids, empty text, non-integer ids, a file
 * that mixes text rows and input_ids rows, an empty file, or one over the size/row caps.
 */
export function parseJsonl(text: string, fileName: string): DevRow[] {
  // String length counts UTF-16 units, never more than the UTF-8 byte count: a cheap lower bound.
  checkDevFileSize(text.length, fileName);
  const rows: DevRow[] = [];
  let firstKind: { ids: boolean; line: number } | null = null;
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if (raw.length === 0) continue;
    if (rows.length >= MAX_DEV_ROWS) {
      throw new DatasetError(fileName, `${fileName}: more than ${MAX_DEV_ROWS} rows; sample the dev set down first`, line);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw new DatasetError(fileName, `${fileName}, line ${line}: invalid JSON (${(err as Error).message})`, line);
    }
    const row = parseRow(obj, fileName, line);
    const ids = row.inputIds !== undefined;
    if (firstKind === null) firstKind = { ids, line };
    else if (firstKind.ids !== ids) {
      const kind = (isIds: boolean) => (isIds ? 'an input_ids row' : 'a text row');
      throw new DatasetError(
        fileName,
        `${fileName}, line ${line}: mixed row kinds: this is ${kind(ids)} but line ${firstKind.line} is ${kind(firstKind.ids)}; use one kind per file`,
        line,
      );
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new DatasetError(fileName, `${fileName}: no rows (the file is empty)`);
  return rows;
}

const INTEGER = /^-?\d{1,15}$/;

/** Integer names first, as numbers ("2" before "10"), then the rest in code-point order. */
function compareDomains(a: string, b: string): number {
  const ia = INTEGER.test(a);
  const ib = INTEGER.test(b);
  if (ia && ib && Number(a) !== Number(b)) return Number(a) - Number(b);
  if (ia !== ib) return ia ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedDomains(domains: readonly string[]): string[] {
  const set = new Set<string>();
  for (const d of domains) if (d !== '') set.add(d);
  return [...set].sort(compareDomains);
}

/** What the caller builds; assembleDataset derives the rest. */
type DatasetParts = Omit<EncodedDataset, 'domainNames' | 'labelNames'>;

/** One place derives domainNames and copies labelNames, so encodeDataset and subsetDataset agree. */
function assembleDataset(parts: DatasetParts, labelNames: string[] | undefined): EncodedDataset {
  const { task, size, sequenceLength, inputIds, attentionMask, labels, domains, labelCount } = parts;
  const ds: EncodedDataset = {
    task,
    size,
    sequenceLength,
    inputIds,
    attentionMask,
    labels,
    domains,
    domainNames: sortedDomains(domains),
    labelCount,
  };
  if (labelNames !== undefined) ds.labelNames = [...labelNames];
  return ds;
}

/**
 * Tokenizes (text rows) and lays rows out as [size, L] int64 tensors: the first L tokens are kept,
 * the rest padded with padId and mask 0. Labels resolve to indices in [0, labelCount) (tasks/class-labels).
 */
export function encodeDataset(rows: readonly DevRow[], opts: EncodeDatasetParams): EncodedDataset {
  const { fileName, tokenizer, sequenceLength: L, padId, labels: labelNames, vocabSize } = opts;
  if (!Number.isSafeInteger(L) || L <= 0) throw new RangeError(`encodeDataset: sequenceLength must be a positive integer, got ${L}`);
  if (!isIndex(padId)) throw new RangeError(`encodeDataset: padId must be an integer ≥ 0, got ${padId}`);
  if (rows.length === 0) throw new DatasetError(fileName, `${fileName}: no rows`);
  const labelOf =
    opts.requireLabels === false
      ? { labelCount: opts.labelCount ?? 0, indexOf: () => 0 }
      : classLabels(rows, { fileName, labels: labelNames, labelCount: opts.labelCount });

  const size = rows.length;
  const inputIds = new BigInt64Array(size * L).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(size * L);
  const labels = new Int32Array(size);
  const domains: string[] = new Array<string>(size);

  for (let r = 0; r < size; r++) {
    const row = rows[r];
    const at = `${fileName}, line ${row.line}`;
    const fail = (problem: string) => new DatasetError(fileName, `${at}: ${problem}`, row.line);

    labels[r] = labelOf.indexOf(row);
    domains[r] = row.domain ?? '';

    let ids: number[];
    let mask: number[] | undefined;
    if (row.inputIds !== undefined) {
      ids = row.inputIds;
      mask = row.attentionMask;
    } else {
      if (tokenizer === undefined) {
        throw new DatasetError(
          fileName,
          `${fileName}: rows carry "text", so a tokenizer.json is needed (or give pre-tokenized "input_ids" rows)`,
          row.line,
        );
      }
      ids = tokenizer.encode(row.text ?? '', L);
      if (ids.length === 0) throw fail('the tokenizer produced no tokens for this text');
    }
    const n = Math.min(ids.length, L);
    const base = r * L;
    for (let t = 0; t < n; t++) {
      const id = ids[t];
      if (vocabSize !== undefined && id >= vocabSize) {
        throw fail(`token id ${id} at position ${t} is outside the model's vocabulary (${vocabSize} tokens)`);
      }
      inputIds[base + t] = BigInt(id);
      attentionMask[base + t] = mask === undefined ? 1n : BigInt(mask[t]);
    }
  }

  return assembleDataset({ task: opts.task ?? DEFAULT_TASK_ID, size, sequenceLength: L, inputIds, attentionMask, labels, domains, labelCount: labelOf.labelCount }, labelNames);
}

/** Copies the given rows (in the given order) into a new dataset; domainNames keeps only those present. */
export function subsetDataset(ds: EncodedDataset, indices: number[]): EncodedDataset {
  const L = ds.sequenceLength;
  const size = indices.length;
  const inputIds = new BigInt64Array(size * L);
  const attentionMask = new BigInt64Array(size * L);
  const labels = new Int32Array(size);
  const domains = new Array<string>(size);
  for (let k = 0; k < size; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.size) {
      throw new RangeError(`subsetDataset: index ${i} is outside 0..${ds.size - 1}`);
    }
    inputIds.set(ds.inputIds.subarray(i * L, (i + 1) * L), k * L);
    attentionMask.set(ds.attentionMask.subarray(i * L, (i + 1) * L), k * L);
    labels[k] = ds.labels[i];
    domains[k] = ds.domains[i];
  }
  const out = assembleDataset(
    { task: ds.task, size, sequenceLength: L, inputIds, attentionMask, labels, domains, labelCount: ds.labelCount },
    ds.labelNames,
  );
  if (ds.dynamicLength) out.dynamicLength = true;
  if (ds.choiceCount !== undefined) out.choiceCount = ds.choiceCount;
  if (ds.targetMask) out.targetMask = pickRows(ds.targetMask, L, indices, (n) => new BigInt64Array(n));
  if (ds.choiceLengths) out.choiceLengths = pickRows(ds.choiceLengths, ds.choiceCount ?? 1, indices, (n) => new Float64Array(n));
  if (ds.tokenLabels) out.tokenLabels = pickRows(ds.tokenLabels, L, indices, (n) => new Int32Array(n));
  if (ds.targets) out.targets = pickRows(ds.targets, 1, indices, (n) => new Float64Array(n));
  return out;
}

/** Tokens of each row: one past its last mask 1 (padding follows the tokens). */
export function rowLengths(ds: Pick<EncodedDataset, 'size' | 'sequenceLength' | 'attentionMask'>): Int32Array {
  const L = ds.sequenceLength;
  const out = new Int32Array(ds.size);
  for (let r = 0; r < ds.size; r++) {
    let n = L;
    while (n > 0 && ds.attentionMask[r * L + n - 1] === 0n) n--;
    out[r] = n;
  }
  return out;
}

/**
 * The dataset cut to its longest row (at least 1 token): for a graph with a dynamic sequence
 * axis, where padding to a fixed length would only cost time. Per-token arrays are cut alike.
 */
export function shrinkToLongest(ds: EncodedDataset): EncodedDataset {
  const L = ds.sequenceLength;
  const n = Math.max(1, ...rowLengths(ds));
  if (n >= L) return { ...ds, dynamicLength: true };
  const cut = <T extends RowArray<T>>(src: T, make: (k: number) => T): T => {
    const dst = make(ds.size * n);
    for (let r = 0; r < ds.size; r++) dst.set(src.subarray(r * L, r * L + n), r * n);
    return dst;
  };
  const out: EncodedDataset = {
    ...ds,
    sequenceLength: n,
    dynamicLength: true,
    inputIds: cut(ds.inputIds, (k) => new BigInt64Array(k)),
    attentionMask: cut(ds.attentionMask, (k) => new BigInt64Array(k)),
  };
  if (ds.targetMask) out.targetMask = cut(ds.targetMask, (k) => new BigInt64Array(k));
  if (ds.tokenLabels) out.tokenLabels = cut(ds.tokenLabels, (k) => new Int32Array(k));
  return out;
}
