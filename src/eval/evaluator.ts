/**
 * Scores weight sets on an encoded dataset with a WeightFedSession, batch by batch. The dataset's
 * task builds each batch's inputs (once, up front: only the weight handles change between calls)
 * and turns the outputs into scores.
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
    batchSize = DEFAULT_BATCH,
  ) {
    this.task = getTask(dataset.task);
    const names = session.dataInputNames;
    for (let start = 0; start < dataset.size; start += batchSize) {
      const batch = datasetBatch(dataset, start, Math.min(batchSize, dataset.size - start));
      this.batches.push({ batch, inputs: this.task.buildInputs(names, batch, 'the model') });
    }
  }

  async score(weights: readonly WeightHandle[]): Promise<Scores> {
    const scorer = this.task.scorer(this.dataset);
    for (const { batch, inputs } of this.batches) scorer.add(await this.session.run(inputs, weights), batch);
    return scorer.scores();
  }

  /** The selection score: the task's fitness metrics of score(). */
  async fitness(weights: readonly WeightHandle[]): Promise<Fitness> {
    return fitnessOf(await this.score(weights));
  }
}
