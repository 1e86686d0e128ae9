/**
 * Causal language modelling: rows {"text"} (with a tokenizer) or {"input_ids", "attention_mask"?},
 * a decoder whose first output is logits [batch, seq, vocab]. The HF convention: the logits at
 * position t predict token t + 1; padding and a row's first token are never targets. The graph
 * gets a head that sums each row's target log-likelihoods (formats/onnx-loglik), so a run returns
 * one float per row. Fitness: mean token negative log-likelihood over the split (Σ NLL / Σ target
 * tokens), lower is better; shown with its perplexity, exp(NLL).
 */
import { DatasetError, encodeDataset, shrinkToLongest, type EncodedDataset } from '../dataset';
import { addRowLoglik, hasRowLoglik } from '../../formats/onnx-loglik';
import { keyStrata } from '../split';
import { CAUSAL_LM } from './ids';
import { domainScores } from './domain-scores';
import { loglikInputs, maybeCut } from './loglik-inputs';
import { TOKEN_INPUTS } from './token-inputs';
import type { MetricDescriptor, Scores } from '../../protocol/results';
import type { GraphSignature, Task, TaskModelShape, TaskScorer } from './task';

/** Tokens a row may have when the graph's sequence axis is symbolic (a tokenizer's truncation may cut sooner). */
export const DYNAMIC_MAX_LENGTH = 512;
/** Below this many outputs per position a [batch, seq, n] output is a tagger, not a vocabulary. */
export const MIN_VOCAB = 100;

export const LM_METRICS: readonly MetricDescriptor[] = [
  { key: 'nll', label: 'mean token NLL', short: 'NLL', higherIsBetter: false, format: 'decimal' },
  { key: 'perplexity', label: 'perplexity', short: 'ppl', higherIsBetter: false, format: 'decimal' },
];

/** The shape of a token model's inputs: the static sequence length, or the cap when the axis is symbolic. */
export function tokenModelShape(graph: GraphSignature, fileName: string, labelCount: number): TaskModelShape {
  const ids = graph.inputs.find((i) => i.name === 'input_ids') ?? graph.inputs[0];
  if (!ids) throw new Error(`${fileName}: the graph has no inputs.`);
  const seq = ids.dims[1];
  if (typeof seq === 'number' && seq > 0) return { sequenceLength: seq, labelCount };
  return { sequenceLength: DYNAMIC_MAX_LENGTH, labelCount, dynamicSequence: true };
}

/** Rank-3 first output with a vocabulary-sized last axis, and token inputs (or the head already added). */
export function detectDecoder(graph: GraphSignature): number {
  if (hasRowLoglik(graph)) return 1;
  const dims = graph.outputs[0]?.dims ?? [];
  if (dims.length !== 3) return 0;
  const last = dims[2];
  const tokens = graph.inputs.some((i) => (TOKEN_INPUTS as readonly string[]).includes(i.name));
  if (typeof last === 'number' && last < MIN_VOCAB) return 0.05;
  return tokens ? 0.9 : 0.5;
}

/** Target mask of plain LM rows: every token whose previous position is a token too. */
export function nextTokenTargets(ds: EncodedDataset): BigInt64Array {
  const L = ds.sequenceLength;
  const out = new BigInt64Array(ds.size * L);
  for (let r = 0; r < ds.size; r++) {
    for (let t = 1; t < L; t++) if (ds.attentionMask[r * L + t] === 1n && ds.attentionMask[r * L + t - 1] === 1n) out[r * L + t] = 1n;
  }
  return out;
}

/** Mean token NLL and perplexity of rows, from their summed log-likelihoods and target counts. */
export function lmMetrics(loglik: Float64Array, tokens: Float64Array, rows: readonly number[]): Record<string, number> {
  let nll = 0;
  let n = 0;
  for (const r of rows) {
    nll -= loglik[r]!;
    n += tokens[r]!;
  }
  const mean = n > 0 ? nll / n : NaN;
  return { nll: mean, perplexity: Math.exp(mean) };
}

/** Collects one summed log-likelihood per row (the head's output) for the split. */
export function rowLoglikScorer(ds: EncodedDataset, perRow: number, finish: (loglik: Float64Array) => Scores): TaskScorer {
  const loglik = new Float64Array(ds.size * perRow);
  return {
    add(output, batch) {
      if (output.length !== batch.rows * perRow) {
        throw new Error(`The model returned ${output.length} values for ${batch.rows} rows; expected ${perRow} per row (the summed log-likelihood of each sequence: the session must run the graph with the task's log-likelihood head, eval/evaluator scoringGraph).`);
      }
      for (let i = 0; i < output.length; i++) loglik[batch.start * perRow + i] = output[i]!;
    },
    scores: () => finish(loglik),
  };
}

function targetCounts(ds: EncodedDataset): Float64Array {
  const L = ds.sequenceLength;
  const out = new Float64Array(ds.size);
  const tm = ds.targetMask!;
  for (let r = 0; r < ds.size; r++) for (let t = 0; t < L; t++) out[r] += Number(tm[r * L + t]);
  return out;
}

export const causalLm: Task = {
  id: CAUSAL_LM,
  label: 'Causal language model',
  metrics: LM_METRICS,
  fitness: ['nll'],
  detect: detectDecoder,
  modelShape: (graph, fileName) => tokenModelShape(graph, fileName, 0),

  encodeRows(rows, { fileName, shape, tokenizer, vocabSize }) {
    let ds = encodeDataset(rows, {
      fileName,
      tokenizer,
      sequenceLength: shape.sequenceLength,
      padId: tokenizer?.padId ?? 0,
      vocabSize,
      task: CAUSAL_LM,
      requireLabels: false,
    });
    if (shape.dynamicSequence) ds = shrinkToLongest(ds);
    ds.targetMask = nextTokenTargets(ds);
    const empty = targetCounts(ds).findIndex((c) => c === 0);
    if (empty >= 0) {
      const line = rows[empty]!.line;
      throw new DatasetError(fileName, `${fileName}, line ${line}: the row has fewer than 2 tokens, so there is no token to predict`, line);
    }
    return ds;
  },

  prepareGraph: (bytes, fileName) => addRowLoglik(bytes, fileName),

  buildInputs(inputNames, batch, fileName) {
    if (!batch.targetMask) throw new Error(`${fileName}: the rows were not encoded for a causal LM (no target mask).`);
    const seqs = { rows: batch.rows, length: batch.sequenceLength, inputIds: batch.inputIds, attentionMask: batch.attentionMask, targetMask: batch.targetMask };
    return loglikInputs(inputNames, maybeCut(seqs, batch.dynamicLength), fileName);
  },

  scorer(ds) {
    const tokens = targetCounts(ds);
    return rowLoglikScorer(ds, 1, (loglik) => domainScores(CAUSAL_LM, ds, (rows) => lmMetrics(loglik, tokens, rows)));
  },

  strata: (ds, byDomain = true) => keyStrata(new Int32Array(ds.size), ds, byDomain),
  balance: () => [],
};
