/**
 * What a task is: the one place that knows how a dev row becomes model inputs, how the model's
 * outputs become metrics, and which way is better. Everything above eval/ asks the task
 * (registry.ts) instead of assuming a classifier: the workspace (shape, encoding, strata), the
 * evaluator and Gram/Fisher capture (inputs, scoring), the search (fitness order) and the UI and
 * CLI (metric names).
 */
import type { MetricDescriptor, Scores } from '../../protocol/results';
import type { DevRow, EncodedDataset } from '../dataset';
import type { Int64Feeds } from '../ort';
import type { TextTokenizer } from '../tokenize';

/** A graph's inputs and outputs as the ONNX reader gives them (static sizes as numbers). */
export interface GraphSignature {
  inputs: readonly { name: string; dims: readonly (number | string)[] }[];
  outputs: readonly { name: string; dims: readonly (number | string)[] }[];
}

/** What a task reads off the graph to encode rows for it. */
export interface TaskModelShape {
  sequenceLength: number;
  /** Size of the label space the model predicts (classes, tags); 0 for a task without labels. */
  labelCount: number;
  /**
   * The graph's sequence axis is symbolic: rows are not padded to sequenceLength (then only a cap
   * on a row's tokens) but a batch to its longest row.
   */
  dynamicSequence?: boolean;
}

/** Rows [start, start + rows) of a dataset, as one model run takes them. */
export interface TaskBatch {
  start: number;
  rows: number;
  sequenceLength: number;
  /** [rows × sequenceLength], row-major. */
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** [rows × sequenceLength]: 1 where a token is scored (causal LM, multiple choice). */
  targetMask?: BigInt64Array;
  /** The dataset's dynamicLength: the inputs may be cut to the batch's longest row. */
  dynamicLength?: boolean;
  /** The dataset's choiceCount: each row holds this many sequences (multiple choice). */
  choiceCount?: number;
}

export interface EncodeRowsParams {
  fileName: string;
  shape: TaskModelShape;
  tokenizer?: TextTokenizer;
  /** Label names (index = label), when the user gave them. */
  labels?: string[];
  vocabSize?: number;
}

/** Collects a split's outputs batch by batch (a causal LM reduces its [rows, L, vocab] logits as they come). */
export interface TaskScorer {
  add(output: Float32Array, batch: TaskBatch): void;
  scores(): Scores;
}

export interface Task {
  id: string;
  label: string;
  /** Every metric Scores.metrics holds, in display order. */
  metrics: readonly MetricDescriptor[];
  /**
   * Fitness order: metric keys, the primary first, then its tie-breaks. Each compares the way its
   * descriptor's higherIsBetter says (a causal LM: mean token NLL, lower is better).
   */
  fitness: readonly string[];
  /** How sure the task is that a graph is one of its models: 0 (not at all) to 1. */
  detect(graph: GraphSignature): number;
  /** Sequence length and label count from the graph's static shapes; throws naming the file. */
  modelShape(graph: GraphSignature, fileName: string): TaskModelShape;
  /** Validates dev rows (what the task accepts) and encodes them; throws a DatasetError naming file and line. */
  encodeRows(rows: readonly DevRow[], params: EncodeRowsParams): EncodedDataset;
  /**
   * The graph the scoring session runs, from the model's graph (before its weights become inputs):
   * a causal LM's gets the per-row log-likelihood head (formats/onnx-loglik), so that a run
   * returns a few floats per row, not [rows, seq, vocab] logits. Absent: the graph as it is.
   */
  prepareGraph?(bytes: Uint8Array, fileName: string): Uint8Array;
  /** The model inputs of a batch, for the graph's data inputs; throws for one the task cannot feed. */
  buildInputs(inputNames: readonly string[], batch: TaskBatch, fileName: string): Int64Feeds;
  scorer(dataset: EncodedDataset): TaskScorer;
  /** Per-row keys a seeded split keeps in proportion (with domains: domain × key). */
  strata(dataset: EncodedDataset, byDomain?: boolean): Int32Array | string[];
  /** Rows per label, what the dataset panel shows; [] for a task without labels. */
  balance(dataset: EncodedDataset): number[];
}
