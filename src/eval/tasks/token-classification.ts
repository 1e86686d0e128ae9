/**
 * Token classification (NER-style tagging): rows {"tokens": [words], "tags": [one per word]}
 * (with a tokenizer) or pre-tokenized {"input_ids", "labels"} with -100 where no label is scored.
 * Words are aligned to sub-word tokens the way HF's token-classification examples do: a word's
 * first sub-token carries its tag, the other sub-tokens and the special tokens are -100. The
 * model's first output is logits [batch, seq, tags]. Metrics: entity-level precision, recall and
 * F1 when the tag names are IOB2 (seqeval, strict), and token accuracy; with other tag sets (or
 * no names) F1 is the token accuracy. Fitness: F1, ties broken by accuracy.
 */
import { DatasetError, encodeDataset, shrinkToLongest, type EncodedDataset } from '../dataset';
import { keyStrata } from '../split';
import type { DevRow } from '../dev-row';
import { TOKEN_CLASSIFICATION } from './ids';
import { domainScores } from './domain-scores';
import { entityScores, isIob2TagSet } from './seqeval';
import { cutToLongest, tokenInputs, TOKEN_INPUTS } from './token-inputs';
import { MIN_VOCAB, tokenModelShape } from './causal-lm';
import type { EncodeRowsParams, Task, TaskScorer } from './task';

export const IGNORE_LABEL = -100;

function tagCount(dims: readonly (number | string)[]): number | null {
  const last = dims[dims.length - 1];
  return typeof last === 'number' ? last : null;
}

/** Word rows → ids with the first-sub-token rule; labels [size × L] (-100 off the first sub-tokens). */
function encodeWords(rows: readonly DevRow[], params: EncodeRowsParams, tagOf: (row: DevRow, tag: string | number) => number): { ids: number[][]; labels: number[][] } {
  const { fileName, tokenizer, shape } = params;
  if (!tokenizer?.encodeContent || !tokenizer.specialIds) throw new DatasetError(fileName, `${fileName}: rows carry "tokens", so a tokenizer.json is needed (or give pre-tokenized "input_ids" and "labels")`);
  const { prefix, suffix } = tokenizer.specialIds;
  const ids: number[][] = [];
  const labels: number[][] = [];
  for (const row of rows) {
    const rowIds = [...prefix];
    const rowLabels = prefix.map(() => IGNORE_LABEL);
    row.tokens!.forEach((word, w) => {
      const pieces = tokenizer.encodeContent!(word);
      pieces.forEach((id, k) => {
        rowIds.push(id);
        rowLabels.push(k === 0 ? tagOf(row, row.tags![w]!) : IGNORE_LABEL);
      });
    });
    // Truncation keeps the leading words and the closing special tokens, as HF's tokenizers do.
    const room = shape.sequenceLength - suffix.length;
    ids.push([...rowIds.slice(0, room), ...suffix]);
    labels.push([...rowLabels.slice(0, room), ...suffix.map(() => IGNORE_LABEL)]);
  }
  return { ids, labels };
}

function encodeTagged(rows: readonly DevRow[], params: EncodeRowsParams): EncodedDataset {
  const { fileName, shape, labels: names } = params;
  const T = shape.labelCount;
  const fail = (row: DevRow, problem: string) => new DatasetError(fileName, `${fileName}, line ${row.line}: ${problem}`, row.line);
  if (names !== undefined && names.length !== T) throw new DatasetError(fileName, `${fileName}: ${names.length} tag names given but the model has ${T} tags`);
  const index = new Map((names ?? []).map((n, i) => [n, i]));
  const tagOf = (row: DevRow, tag: string | number): number => {
    const k = typeof tag === 'number' ? tag : index.get(tag);
    if (k === undefined) throw fail(row, names ? `unknown tag "${tag}" (expected one of ${names.join(', ')})` : `tag "${tag}" is a name, but no tag list was given to map names to the model's tags`);
    if (k >= T) throw fail(row, `tag ${k} is outside the model's ${T} tags (0..${T - 1})`);
    return k;
  };
  const words = rows[0]?.tokens !== undefined;
  for (const row of rows) {
    if (words && (row.tokens === undefined || row.tags === undefined)) throw fail(row, 'a word-tagged row needs "tokens" and "tags"');
    if (!words && (row.inputIds === undefined || row.tokenLabels === undefined)) throw fail(row, 'a pre-tokenized row needs "input_ids" and "labels"');
    if (!words && row.tokenLabels!.length !== row.inputIds!.length) throw fail(row, `"labels" has ${row.tokenLabels!.length} items but "input_ids" has ${row.inputIds!.length}`);
    if (!words) row.tokenLabels!.forEach((l) => l !== IGNORE_LABEL && tagOf(row, l));
  }
  const encoded = words ? encodeWords(rows, params, tagOf) : { ids: rows.map((r) => r.inputIds!), labels: rows.map((r) => r.tokenLabels!) };
  const idRows: DevRow[] = rows.map((r, i) => ({ line: r.line, inputIds: encoded.ids[i]!, ...(r.attentionMask && !words ? { attentionMask: r.attentionMask } : {}), ...(r.domain ? { domain: r.domain } : {}) }));
  let ds = encodeDataset(idRows, { fileName, sequenceLength: shape.sequenceLength, padId: params.tokenizer?.padId ?? 0, vocabSize: params.vocabSize, task: TOKEN_CLASSIFICATION, requireLabels: false, labelCount: T, labels: names });
  const L = ds.sequenceLength;
  const tokenLabels = new Int32Array(ds.size * L).fill(IGNORE_LABEL);
  encoded.labels.forEach((ls, r) => ls.slice(0, L).forEach((l, t) => (tokenLabels[r * L + t] = l)));
  ds.tokenLabels = tokenLabels;
  if (shape.dynamicSequence) ds = shrinkToLongest(ds);
  return ds;
}

function tagScorer(ds: EncodedDataset): TaskScorer {
  const T = ds.labelCount;
  const L = ds.sequenceLength;
  const gold: number[][] = Array.from({ length: ds.size }, () => []);
  const pred: number[][] = Array.from({ length: ds.size }, () => []);
  const names = ds.labelNames;
  const entities = names !== undefined && isIob2TagSet(names);
  return {
    add(output, batch) {
      const n = output.length / (batch.rows * T);
      if (!Number.isInteger(n) || n > L) throw new Error(`The model returned ${output.length} logits for ${batch.rows} rows; expected [rows, ≤ ${L}, ${T}].`);
      for (let b = 0; b < batch.rows; b++) {
        const r = batch.start + b;
        for (let t = 0; t < L; t++) {
          const g = ds.tokenLabels![r * L + t]!;
          if (g === IGNORE_LABEL) continue;
          if (t >= n) throw new Error(`The model returned ${n} positions per row, but row ${r} has a label at position ${t}.`);
          let best = 0;
          const base = (b * n + t) * T;
          for (let k = 1; k < T; k++) if (output[base + k]! > output[base + best]!) best = k;
          gold[r]!.push(g);
          pred[r]!.push(best);
        }
      }
    },
    scores: () =>
      domainScores(TOKEN_CLASSIFICATION, ds, (rows) => {
        let right = 0;
        let total = 0;
        for (const r of rows) gold[r]!.forEach((g, i) => ((total += 1), (right += g === pred[r]![i] ? 1 : 0)));
        const accuracy = total > 0 ? right / total : NaN;
        if (!entities) return { f1: accuracy, precision: NaN, recall: NaN, accuracy };
        const e = entityScores(rows.map((r) => gold[r]!.map((g) => names![g]!)), rows.map((r) => pred[r]!.map((p) => names![p]!)));
        return { f1: e.f1, precision: e.precision, recall: e.recall, accuracy };
      }),
  };
}

export const tokenClassification: Task = {
  id: TOKEN_CLASSIFICATION,
  label: 'Token classification',
  metrics: [
    { key: 'f1', label: 'entity F1', short: 'F1', higherIsBetter: true, format: 'percent' },
    { key: 'precision', label: 'entity precision', short: 'P', higherIsBetter: true, format: 'percent' },
    { key: 'recall', label: 'entity recall', short: 'R', higherIsBetter: true, format: 'percent' },
    { key: 'accuracy', label: 'token accuracy', short: 'tok. acc.', higherIsBetter: true, format: 'percent' },
  ],
  fitness: ['f1', 'accuracy'],

  detect(graph) {
    const dims = graph.outputs[0]?.dims ?? [];
    const tags = tagCount(dims);
    if (dims.length !== 3 || tags === null || tags < 2) return 0;
    const tokens = graph.inputs.some((i) => (TOKEN_INPUTS as readonly string[]).includes(i.name));
    return tags < MIN_VOCAB ? (tokens ? 0.9 : 0.6) : 0.05;
  },

  modelShape(graph, fileName) {
    const tags = tagCount(graph.outputs[0]?.dims ?? []);
    if (tags === null) throw new Error(`${fileName}: output ${graph.outputs[0]?.name ?? '(none)'} has no static tag dimension.`);
    return tokenModelShape(graph, fileName, tags);
  },

  encodeRows: encodeTagged,

  buildInputs(inputNames, batch, fileName) {
    if (!batch.dynamicLength) return tokenInputs(inputNames, batch, fileName);
    const cut = cutToLongest(batch, batch.rows, batch.sequenceLength);
    return tokenInputs(inputNames, { ...batch, sequenceLength: cut.length, inputIds: cut.inputIds, attentionMask: cut.attentionMask }, fileName);
  },

  scorer: tagScorer,
  strata: (ds, byDomain = true) => keyStrata(new Int32Array(ds.size), ds, byDomain),
  balance(ds) {
    const counts = new Array<number>(ds.labelCount).fill(0);
    for (const l of ds.tokenLabels ?? []) if (l !== IGNORE_LABEL) counts[l]++;
    return counts;
  },
};
