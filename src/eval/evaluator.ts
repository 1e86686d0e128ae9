/**
 * Scores weight sets on an encoded dataset with a WeightFedSession, batch by batch. The dataset's
 * task builds each batch's inputs (once, up front: only the weight handles change between calls)
 * and turns the outputs into scores.
 *
 * An evaluation route (the CLI's queue) may take every evaluation instead: it is handed the
 * call's shape, a way to run any range of batches here, and the reduction of all batches'
 * outputs to scores. Outputs are per batch and the reduction is the task's own, so batches run
 * anywhere, on the same weights and the same runtime, give the scores one process gives.
 */
import { type Fitness, type Scores } from '../protocol/results';
import { fitnessOf, getTask } from './tasks/registry';
import { datasetBatch } from './tasks/token-inputs';
import type { Task, TaskBatch } from './tasks/task';
import type { EncodedDataset } from './dataset';
import type { Int64Feeds, WeightFedSession, WeightHandle } from './ort';

/** Rows per run: large enough to amortise per-run overhead, small enough for the wasm heap. */
const DEFAULT_BATCH = 128;

/**
 * The graph a scoring session for `taskId` runs, before its weights become inputs: the task's
 * prepareGraph (a causal LM's log-likelihood head), else the graph as it is.
 */
export function scoringGraph(taskId: string, bytes: Uint8Array, fileName: string): Uint8Array {
  const task = getTask(taskId);
  return task.prepareGraph ? task.prepareGraph(bytes, fileName) : bytes;
}

/** What an evaluation is, for a route to check that two processes are at the same one. */
export interface EvaluationCall {
  rows: number;
  batches: number;
  /** Rows per batch (the last may hold fewer). */
  batchRows: number;
}

export interface EvaluationRoute {
  /**
   * Every evaluation of the evaluators it is given to, in the order they are asked for.
   * runBatches(from, to): the model outputs of batches [from, to) on this evaluation's weights;
   * reduce: every batch's output, in order, to the scores.
   */
  evaluate(call: EvaluationCall, runBatches: (from: number, to: number) => Promise<Float32Array[]>, reduce: (outputs: readonly Float32Array[]) => Scores): Promise<Scores>;
}

interface Batch {
  batch: TaskBatch;
  inputs: Int64Feeds;
}

export class DatasetEvaluator {
  private readonly batches: Batch[] = [];
  readonly task: Task;

  constructor(
    readonly session: WeightFedSession,
    readonly dataset: EncodedDataset,
    readonly batchSize = DEFAULT_BATCH,
    readonly route: EvaluationRoute | null = null,
  ) {
    this.task = getTask(dataset.task);
    const names = session.dataInputNames;
    for (let start = 0; start < dataset.size; start += batchSize) {
      const batch = datasetBatch(dataset, start, Math.min(batchSize, dataset.size - start));
      this.batches.push({ batch, inputs: this.task.buildInputs(names, batch, 'the model') });
    }
  }

  /** An evaluator of other rows on the same session, batch size and route (a split of these rows). */
  derive(dataset: EncodedDataset): DatasetEvaluator {
    return new DatasetEvaluator(this.session, dataset, this.batchSize, this.route);
  }

  async score(weights: readonly WeightHandle[]): Promise<Scores> {
    const runBatches = async (from: number, to: number) => {
      const outputs: Float32Array[] = [];
      for (const { inputs } of this.batches.slice(from, to)) outputs.push(await this.session.run(inputs, weights));
      return outputs;
    };
    const reduce = (outputs: readonly Float32Array[]) => {
      const scorer = this.task.scorer(this.dataset);
      this.batches.forEach(({ batch }, i) => scorer.add(outputs[i]!, batch));
      return scorer.scores();
    };
    if (this.route) return this.route.evaluate({ rows: this.dataset.size, batches: this.batches.length, batchRows: this.batchSize }, runBatches, reduce);
    return reduce(await runBatches(0, this.batches.length));
  }

  /** The selection score: the task's fitness metrics of score(). */
  async fitness(weights: readonly WeightHandle[]): Promise<Fitness> {
    return fitnessOf(await this.score(weights));
  }
}
