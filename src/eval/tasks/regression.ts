/**
 * Regression (GLUE's STS-B): rows {"text" | "input_ids", "label": number}, the model's first
 * output [batch, 1]. Metrics: Pearson, Spearman and MSE; fitness Pearson, ties broken by
 * Spearman.
 */
import { DatasetError, encodeDataset, shrinkToLongest } from '../dataset';
import { keyStrata } from '../split';
import { REGRESSION } from './ids';
import { domainScores } from './domain-scores';
import { regressionMetrics } from './regression-metrics';
import { cutToLongest, tokenInputs, TOKEN_INPUTS } from './token-inputs';
import { tokenModelShape } from './causal-lm';
import type { Task, TaskScorer } from './task';

export const regression: Task = {
  id: REGRESSION,
  label: 'Regression',
  metrics: [
    { key: 'pearson', label: 'Pearson r', short: 'Pearson', higherIsBetter: true, format: 'decimal' },
    { key: 'spearman', label: 'Spearman ρ', short: 'Spearman', higherIsBetter: true, format: 'decimal' },
    { key: 'mse', label: 'mean squared error', short: 'MSE', higherIsBetter: false, format: 'decimal' },
  ],
  fitness: ['pearson', 'spearman'],

  detect(graph) {
    const dims = graph.outputs[0]?.dims ?? [];
    if (dims.length !== 2 || dims[1] !== 1) return 0;
    return graph.inputs.some((i) => (TOKEN_INPUTS as readonly string[]).includes(i.name)) ? 0.9 : 0.6;
  },

  modelShape: (graph, fileName) => tokenModelShape(graph, fileName, 1),

  encodeRows(rows, { fileName, shape, tokenizer, vocabSize }) {
    const targets = new Float64Array(rows.length);
    rows.forEach((row, i) => {
      if (typeof row.label !== 'number') {
        throw new DatasetError(fileName, `${fileName}, line ${row.line}: a regression row needs a numeric "label", got ${JSON.stringify(row.label) ?? 'none'}`, row.line);
      }
      targets[i] = row.label;
    });
    let ds = encodeDataset(rows, { fileName, tokenizer, sequenceLength: shape.sequenceLength, padId: tokenizer?.padId ?? 0, vocabSize, task: REGRESSION, requireLabels: false, labelCount: 1 });
    ds.targets = targets;
    if (shape.dynamicSequence) ds = shrinkToLongest(ds);
    return ds;
  },

  buildInputs(inputNames, batch, fileName) {
    if (!batch.dynamicLength) return tokenInputs(inputNames, batch, fileName);
    const cut = cutToLongest(batch, batch.rows, batch.sequenceLength);
    return tokenInputs(inputNames, { ...batch, sequenceLength: cut.length, inputIds: cut.inputIds, attentionMask: cut.attentionMask }, fileName);
  },

  scorer(ds): TaskScorer {
    const pred = new Float64Array(ds.size);
    return {
      add(output, batch) {
        if (output.length !== batch.rows) throw new Error(`The model returned ${output.length} values for ${batch.rows} rows; a regression head gives one per row.`);
        pred.set(output, batch.start);
      },
      scores: () => domainScores(REGRESSION, ds, (rows) => regressionMetrics(rows.map((r) => pred[r]!), rows.map((r) => ds.targets![r]!))),
    };
  },

  strata: (ds, byDomain = true) => keyStrata(new Int32Array(ds.size), ds, byDomain),
  balance: () => [],
};
