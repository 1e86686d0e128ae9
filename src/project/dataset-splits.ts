/**
 * The dev and held-out splits of what the user loaded, for the loaded graph's task: the task is
 * detected from the first checkpoint's graph (eval/tasks/registry), reads its shape, encodes the
 * rows, and names the strata a seeded split keeps in proportion. Pure: rows in, splits out.
 */
import { subsetDataset, type DevRow, type EncodedDataset } from '../eval/dataset';
import { splitDevHeldout } from '../eval/split';
import { getTask, TaskError } from '../eval/tasks/registry';
import { guessTask, taskMismatch } from '../eval/tasks/guess-task';
import type { GraphSignature, Task, TaskModelShape } from '../eval/tasks/task';
import type { TextTokenizer } from '../eval/tokenize';
import type { DatasetSummary } from '../protocol/project';

/** Fraction of the dev file held out when no separate held-out file is given. */
export const HELDOUT_FRACTION = 0.25;
const SPLIT_SEED = 20240612;

/** The task a graph was detected as, and the shape it reads off the graph. */
export interface ModelTask {
  task: Task;
  shape: TaskModelShape;
}

/**
 * The graph's task — the one named (the studio's picker, the CLI's --task), else guessed from the
 * dev rows' fields and the graph's outputs — and the shape it reads off the graph; throws naming
 * the file when no task fits, or when the named one cannot score this graph.
 */
export function modelTask(graph: GraphSignature, fileName: string, rows: readonly DevRow[] = [], named: string | null = null): ModelTask {
  const task = named ? getTask(named) : guessTask(graph, rows, fileName);
  if (named) {
    const mismatch = taskMismatch(task, graph, fileName);
    if (mismatch) throw new TaskError(mismatch);
  }
  return { task, shape: task.modelShape(graph, fileName) };
}

/** Encodes dev rows for a graph's task: its sequence length and labels, the tokenizer when rows are text. */
export function encodeRowsForModel(rows: readonly DevRow[], fileName: string, model: ModelTask, tokenizer: TextTokenizer | undefined, labels?: string[]): EncodedDataset {
  return model.task.encodeRows(rows, { fileName, shape: model.shape, tokenizer, labels });
}

export interface EncodedSplits {
  dev: EncodedDataset;
  heldout: EncodedDataset;
  summary: DatasetSummary;
}

export interface SplitFiles {
  devFile: string;
  /** The separate held-out file's name and rows, or null to split the dev file. */
  heldoutFile: string | null;
  dev: EncodedDataset;
  heldout: EncodedDataset | null;
  /** The label names the user gave, if any. */
  labels: string[] | null;
}

/** Splits (or pairs) the encoded files and summarizes them for the dataset panel. */
export function buildSplits(files: SplitFiles, model: ModelTask): EncodedSplits {
  const { task, shape } = model;
  const { dev } = files;
  let devPart = dev;
  let heldout = files.heldout;
  if (!heldout) {
    const split = splitDevHeldout(dev.size, HELDOUT_FRACTION, SPLIT_SEED, task.strata(dev));
    devPart = subsetDataset(dev, split.dev);
    heldout = subsetDataset(dev, split.heldout);
  }
  const summary: DatasetSummary = {
    devFile: files.devFile,
    heldoutFile: files.heldoutFile,
    devSize: devPart.size,
    heldoutSize: heldout.size,
    task: task.id,
    // The rows' length as encoded: a graph with a dynamic sequence axis reads no fixed one.
    sequenceLength: dev.sequenceLength,
    labels: files.labels ?? Array.from({ length: shape.labelCount }, (_, i) => String(i)),
    devBalance: task.balance(devPart),
    heldoutBalance: task.balance(heldout),
    domains: devPart.domainNames,
    heldoutSource: files.heldout ? 'file' : 'split',
  };
  return { dev: devPart, heldout, summary };
}
