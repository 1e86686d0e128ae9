/**
 * The coordinator's evaluation route: each evaluation of the run becomes jobs over contiguous
 * ranges of its batches (one per worker listening, at most one per batch), the workers' outputs
 * come back in batch order, and the task reduces them here: the scores one process computes.
 * The scores are then appended to the run's answers in Redis, which is how every worker's copy
 * of the run learns what the coordinator accepted before it asks for the next evaluation.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { EvaluationCall, EvaluationRoute } from '../../src/eval/evaluator';
import type { Scores } from '../../src/protocol/results';
import { QUEUE_NAME } from './redis';
import type { RunDescription } from './run-description';
import { decodeOutputs, encodeScores } from './wire';

/** Keys of a run kept in Redis (besides BullMQ's): its description and its answers so far. */
export function runKeys(runId: string): { description: string; answers: string } {
  return { description: `evolver:run:${runId}:description`, answers: `evolver:run:${runId}:answers` };
}

/** A run's keys outlive a coordinator that died without cleaning up by this long. */
const RUN_KEY_TTL_S = 7 * 24 * 3600;
/** Finished jobs nobody removed (their coordinator died) go after this long. */
const ORPHAN_JOB_AGE_S = 3600;

export interface ShardJob {
  runId: string;
  inputsHash: string;
  evaluation: number;
  call: EvaluationCall;
  from: number;
  to: number;
}

export interface ShardResult {
  outputs: string[];
  worker: string;
}

/** Batches [0, batches) in `shards` contiguous ranges, the first ones one batch longer. */
export function planShards(batches: number, shards: number): { from: number; to: number }[] {
  const count = Math.max(1, Math.min(batches, shards));
  const ranges: { from: number; to: number }[] = [];
  let from = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(batches / count) + (i < batches % count ? 1 : 0);
    ranges.push({ from, to: from + size });
    from += size;
  }
  return ranges;
}

export interface CoordinatorOptions {
  connection: RedisOptions;
  redis: Redis;
  description: RunDescription;
  /** Jobs per evaluation; 0: one per worker listening when the evaluation starts. */
  shards: number;
  onNote(text: string): void;
}

export class QueueCoordinator implements EvaluationRoute {
  private readonly queue: Queue<ShardJob, ShardResult>;
  private readonly events: QueueEvents;
  private index = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private warnedIdle = false;
  /** Jobs each worker ran, for the report. */
  readonly jobsByWorker = new Map<string, number>();
  jobs = 0;

  get evaluations(): number {
    return this.index;
  }

  constructor(private readonly options: CoordinatorOptions) {
    this.queue = new Queue(QUEUE_NAME, { connection: options.connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection: options.connection });
    this.queue.on('error', () => {});
    this.events.on('error', () => {});
  }

  /** Publishes the run's description (workers read it at their first job of the run). */
  async start(): Promise<void> {
    const keys = runKeys(this.options.description.runId);
    await this.options.redis.set(keys.description, JSON.stringify(this.options.description), 'EX', RUN_KEY_TTL_S);
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  evaluate(call: EvaluationCall, _runBatches: unknown, reduce: (outputs: readonly Float32Array[]) => Scores): Promise<Scores> {
    // The engine asks one evaluation at a time; the chain keeps the answers in order even if not.
    const next = this.chain.then(() => this.evaluateNow(call, reduce));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async evaluateNow(call: EvaluationCall, reduce: (outputs: readonly Float32Array[]) => Scores): Promise<Scores> {
    const { description, redis } = this.options;
    const evaluation = this.index++;
    const listening = await this.queue.getWorkersCount();
    if (listening === 0 && !this.warnedIdle) {
      this.warnedIdle = true;
      this.options.onNote('no worker is listening on the queue yet: the evaluations wait for one (start one with `evolver-studio worker --queue ...`)');
    }
    const shards = planShards(call.batches, this.options.shards > 0 ? this.options.shards : Math.max(1, listening));
    const jobs = await this.queue.addBulk(
      shards.map(({ from, to }) => ({
        name: 'shard',
        data: { runId: description.runId, inputsHash: description.inputsHash, evaluation, call, from, to },
        // Removed below once read; the age limit clears the jobs of a coordinator that died waiting.
        opts: { jobId: `${description.runId}.${evaluation}.${from}`, attempts: 1, removeOnComplete: { age: ORPHAN_JOB_AGE_S }, removeOnFail: { age: ORPHAN_JOB_AGE_S } },
      })),
    );
    let results: ShardResult[];
    try {
      results = await Promise.all(jobs.map((job) => job.waitUntilFinished(this.events) as Promise<ShardResult>));
    } catch (err) {
      throw new Error(`a worker could not score evaluation ${evaluation + 1} of the run: ${(err as Error).message}`);
    } finally {
      await Promise.all(jobs.map((job: Job) => job.remove().catch(() => undefined)));
    }
    this.jobs += jobs.length;
    for (const r of results) this.jobsByWorker.set(r.worker, (this.jobsByWorker.get(r.worker) ?? 0) + 1);
    const outputs = results.flatMap((r) => decodeOutputs(r.outputs));
    if (outputs.length !== call.batches) throw new Error(`evaluation ${evaluation + 1}: the workers returned ${outputs.length} batch outputs of ${call.batches}`);
    const scores = reduce(outputs);
    const keys = runKeys(description.runId);
    const length = await redis.rpush(keys.answers, encodeScores(scores));
    await redis.expire(keys.answers, RUN_KEY_TTL_S);
    if (length !== evaluation + 1) throw new Error(`the run's answers in Redis are out of order (${length} stored at evaluation ${evaluation + 1}): is another coordinator using run id ${description.runId}?`);
    return scores;
  }

  /** Removes the run's keys and closes the connections. */
  async close(): Promise<void> {
    const keys = runKeys(this.options.description.runId);
    await this.options.redis.del(keys.description, keys.answers).catch(() => undefined);
    await Promise.all([this.queue.close(), this.events.close()]);
    this.options.redis.disconnect();
  }
}
