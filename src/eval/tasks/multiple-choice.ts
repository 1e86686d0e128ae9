/**
 * Multiple choice, as lm-evaluation-harness scores it on a causal LM: rows {"context", "choices":
 * [...], "label": k}; each choice is scored by the summed log-likelihood of its tokens after the
 * context (the request is context + " " + choice, the continuation the tokens past the context's
 * own). acc: the most likely choice is the right one; acc_norm: the same after dividing each
 * log-likelihood by the choice's length in characters. Ties go to the first choice (np.argmax).
 * Each encoded row holds its C choice sequences one after another (sequenceLength = C × L), so a
 * split or a dev subset keeps a question's choices together.
 */
import { DatasetError, sortedDomains, type EncodedDataset } from '../dataset';
import { addRowLoglik } from '../../formats/onnx-loglik';
import { keyStrata } from '../split';
import type { DevRow } from '../dev-row';
import { MULTIPLE_CHOICE } from './ids';
import { domainScores } from './domain-scores';
import { loglikInputs, maybeCut } from './loglik-inputs';
import { detectDecoder, rowLoglikScorer, tokenModelShape } from './causal-lm';
import type { Task, TaskScorer } from './task';

/** lm-eval's acc and acc_norm over `rows`, from each choice's summed log-likelihood (row-major, C per row). */
export function choiceMetrics(loglik: Float64Array, choiceLengths: Float64Array, labels: Int32Array, choices: number, rows: readonly number[]): Record<string, number> {
  let acc = 0;
  let accNorm = 0;
  for (const r of rows) {
    let best = 0;
    let bestNorm = 0;
    for (let c = 1; c < choices; c++) {
      const i = r * choices + c;
      if (loglik[i]! > loglik[r * choices + best]!) best = c;
      if (loglik[i]! / choiceLengths[i]! > loglik[r * choices + bestNorm]! / choiceLengths[r * choices + bestNorm]!) bestNorm = c;
    }
    if (best === labels[r]) acc++;
    if (bestNorm === labels[r]) accNorm++;
  }
  return rows.length === 0 ? { acc: NaN, acc_norm: NaN } : { acc: acc / rows.length, acc_norm: accNorm / rows.length };
}

function encodeChoices(rows: readonly DevRow[], params: Parameters<Task['encodeRows']>[1]): EncodedDataset {
  const { fileName, shape, tokenizer, vocabSize } = params;
  if (rows.length === 0) throw new DatasetError(fileName, `${fileName}: no rows`);
  const fail = (row: DevRow, problem: string) => new DatasetError(fileName, `${fileName}, line ${row.line}: ${problem}`, row.line);
  if (!tokenizer) throw new DatasetError(fileName, `${fileName}: multiple-choice rows are text, so a tokenizer.json is needed`);
  const C = rows[0]!.choices?.length ?? 0;
  const encoded: { ids: number[]; start: number }[][] = [];
  for (const row of rows) {
    if (row.context === undefined || row.choices === undefined) throw fail(row, 'a multiple-choice row needs "context" and "choices"');
    if (row.choices.length !== C) throw fail(row, `${row.choices.length} choices, but line ${rows[0]!.line} has ${C}; every row needs as many`);
    if (typeof row.label !== 'number' || !Number.isSafeInteger(row.label) || row.label < 0 || row.label >= C) {
      throw fail(row, `"label" must be the index of the right choice (0..${C - 1}), got ${JSON.stringify(row.label)}`);
    }
    const ctx = tokenizer.encode(row.context);
    encoded.push(
      row.choices.map((choice, c) => {
        const ids = tokenizer.encode(`${row.context} ${choice}`);
        if (ids.length > shape.sequenceLength) throw fail(row, `context and choice ${c} take ${ids.length} tokens, more than the model's ${shape.sequenceLength}`);
        if (ids.length <= ctx.length || ctx.length === 0) throw fail(row, `choice ${c} adds no token after the context`);
        const id = ids.find((x) => vocabSize !== undefined && x >= vocabSize);
        if (id !== undefined) throw fail(row, `token id ${id} is outside the model's vocabulary (${vocabSize} tokens)`);
        return { ids, start: ctx.length };
      }),
    );
  }
  const Lc = shape.dynamicSequence ? Math.max(...encoded.flat().map((e) => e.ids.length)) : shape.sequenceLength;
  const size = rows.length;
  const L = C * Lc;
  const padId = BigInt(tokenizer.padId ?? 0);
  const inputIds = new BigInt64Array(size * L).fill(padId);
  const attentionMask = new BigInt64Array(size * L);
  const targetMask = new BigInt64Array(size * L);
  const choiceLengths = new Float64Array(size * C);
  const labels = new Int32Array(size);
  encoded.forEach((seqs, r) => {
    labels[r] = rows[r]!.label as number;
    seqs.forEach(({ ids, start }, c) => {
      const base = r * L + c * Lc;
      ids.forEach((id, t) => {
        inputIds[base + t] = BigInt(id);
        attentionMask[base + t] = 1n;
        if (t >= start) targetMask[base + t] = 1n;
      });
      choiceLengths[r * C + c] = rows[r]!.choices![c]!.length;
    });
  });
  const domains = rows.map((r) => r.domain ?? '');
  const domainNames = sortedDomains(domains);
  const ds: EncodedDataset = { task: MULTIPLE_CHOICE, size, sequenceLength: L, inputIds, attentionMask, labels, domains, domainNames, labelCount: C, targetMask, choiceCount: C, choiceLengths };
  if (shape.dynamicSequence) ds.dynamicLength = true;
  return ds;
}

export const multipleChoice: Task = {
  id: MULTIPLE_CHOICE,
  label: 'Multiple choice',
  metrics: [
    { key: 'acc_norm', label: 'accuracy (length-normalised)', short: 'acc_norm', higherIsBetter: true, format: 'percent' },
    { key: 'acc', label: 'accuracy', short: 'acc', higherIsBetter: true, format: 'percent' },
  ],
  fitness: ['acc_norm', 'acc'],
  // The graph is a decoder either way; the rows' fields tell a multiple-choice set from plain text.
  detect: (graph) => detectDecoder(graph) * 0.5,
  modelShape: (graph, fileName) => tokenModelShape(graph, fileName, 0),
  encodeRows: encodeChoices,
  prepareGraph: (bytes, fileName) => addRowLoglik(bytes, fileName),

  buildInputs(inputNames, batch, fileName) {
    if (!batch.targetMask) throw new Error(`${fileName}: the rows were not encoded for multiple choice (no target mask).`);
    // Questions × choices sequences: the same memory read as [rows · C, L / C].
    const C = batch.choiceCount;
    if (!C || batch.sequenceLength % C !== 0) throw new Error(`${fileName}: the rows were not encoded for multiple choice (no choice count).`);
    const seqs = { rows: batch.rows * C, length: batch.sequenceLength / C, inputIds: batch.inputIds, attentionMask: batch.attentionMask, targetMask: batch.targetMask };
    return loglikInputs(inputNames, maybeCut(seqs, batch.dynamicLength), fileName);
  },

  scorer(ds): TaskScorer {
    const C = ds.choiceCount ?? 0;
    return rowLoglikScorer(ds, C, (loglik) => domainScores(MULTIPLE_CHOICE, ds, (rows) => choiceMetrics(loglik, ds.choiceLengths!, ds.labels, C, rows)));
  },

  strata: (ds, byDomain = true) => keyStrata(ds.labels, ds, byDomain),
  balance(ds) {
    const counts = new Array<number>(ds.labelCount).fill(0);
    for (const c of ds.labels) counts[c]++;
    return counts;
  },
};
