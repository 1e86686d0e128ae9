/**
 * Sequence classification: one label per row, the model's first output is logits [rows, classes].
 * Fitness is accuracy, ties broken by macro-F1 (accuracy on a few hundred rows has coarse steps
 * and ties are common). Rows: {"text" | "input_ids", "label": index or name, "domain"?}; splits
 * keep the class balance (per domain when the rows carry domains).
 */
import { encodeDataset, type EncodedDataset } from '../dataset';
import { keyStrata } from '../split';
import { argmaxRows, scoreByDomain } from './classification-metrics';
import { SEQUENCE_CLASSIFICATION } from './ids';
import { tokenInputs, TOKEN_INPUTS } from './token-inputs';
import type { Scores } from '../../protocol/results';
import type { GraphSignature, Task, TaskModelShape, TaskScorer } from './task';

/** Sequence length assumed when the graph's input has a symbolic one. */
const DEFAULT_SEQUENCE_LENGTH = 128;

function classCount(graph: GraphSignature): number | null {
  const dims = graph.outputs[0]?.dims ?? [];
  const last = dims[dims.length - 1];
  return typeof last === 'number' ? last : null;
}

/** Scores logits [ds.size, ds.labelCount] (row-major) against the dataset's labels. */
export function scoreLogits(logits: Float32Array, ds: EncodedDataset): Scores {
  const pred = argmaxRows(logits, ds.size, ds.labelCount);
  const byDomain = scoreByDomain(pred, ds.labels, ds.domains, ds.labelCount).map((d) => ({ domain: d.domain, size: d.size, metrics: { ...d.metrics } }));
  return { task: SEQUENCE_CLASSIFICATION, metrics: { ...byDomain[0]!.metrics }, size: ds.size, byDomain };
}

function logitsScorer(ds: EncodedDataset): TaskScorer {
  const classes = ds.labelCount;
  const logits = new Float32Array(ds.size * classes);
  return {
    add(output, batch) {
      if (output.length !== batch.rows * classes) {
        throw new Error(`The model returned ${output.length} logits for ${batch.rows} rows; expected ${classes} per row.`);
      }
      logits.set(output, batch.start * classes);
    },
    scores: () => scoreLogits(logits, ds),
  };
}

export const sequenceClassification: Task = {
  id: SEQUENCE_CLASSIFICATION,
  label: 'Sequence classification',
  metrics: [
    { key: 'accuracy', label: 'accuracy', short: 'acc.', higherIsBetter: true, format: 'percent' },
    { key: 'macroF1', label: 'macro-F1', short: 'macro-F1', higherIsBetter: true, format: 'percent' },
  ],
  fitness: ['accuracy', 'macroF1'],

  detect(graph) {
    const dims = graph.outputs[0]?.dims ?? [];
    const classes = classCount(graph);
    if (classes === null || classes < 1) return 0;
    const tokens = graph.inputs.some((i) => (TOKEN_INPUTS as readonly string[]).includes(i.name));
    // [batch, classes] with two or more classes is a classifier head; anything else only might be.
    if (dims.length === 2 && classes >= 2) return tokens ? 1 : 0.8;
    return 0.1;
  },

  modelShape(graph, fileName): TaskModelShape {
    const ids = graph.inputs.find((i) => i.name === 'input_ids') ?? graph.inputs[0];
    if (!ids) throw new Error(`${fileName}: the graph has no inputs.`);
    const seq = ids.dims[1];
    const classes = classCount(graph);
    if (classes === null) throw new Error(`${fileName}: output ${graph.outputs[0]?.name ?? '(none)'} has no static class dimension.`);
    return { sequenceLength: typeof seq === 'number' ? seq : DEFAULT_SEQUENCE_LENGTH, labelCount: classes };
  },

  encodeRows(rows, { fileName, shape, tokenizer, labels, vocabSize }) {
    return encodeDataset(rows, {
      fileName,
      tokenizer,
      sequenceLength: shape.sequenceLength,
      padId: tokenizer?.padId ?? 0,
      labels,
      labelCount: shape.labelCount,
      vocabSize,
      task: SEQUENCE_CLASSIFICATION,
    });
  },

  buildInputs: tokenInputs,
  scorer: logitsScorer,
  strata: (ds, byDomain = true) => keyStrata(ds.labels, ds, byDomain),

  balance(ds) {
    const counts = new Array<number>(ds.labelCount).fill(0);
    for (const c of ds.labels) counts[c]++;
    return counts;
  },
};
