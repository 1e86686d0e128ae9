/**
 * `worker --queue redis://HOST:PORT [--data-root DIR] [--concurrency N]`: scores the evaluation
 * jobs of any coordinator's `evolve --queue`. Each of its N slots keeps a copy of the run it last
 * served (follower.ts): the same files, read under --data-root and checked against the
 * coordinator's hashes, the same search, fed the coordinator's scores. A job's answer is the
 * model outputs of its batches on the copy's candidate.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CommandSpec, Parsed } from '../args';
import { numberOption, parseCommand, requireOption, stringOption, UsageError } from '../args';
import { runtimeHelp, runtimeOptions } from '../runtime-options';
import { evolveSpec } from '../commands/evolve';
import { EVOLVE_PATH_OPTIONS, openEvolveRun } from '../commands/evolve-run';
import { runKeys, type ShardJob, type ShardResult } from './coordinator';
import { FollowerPassedError, RunFollower } from './follower';
import { connectRedis, QUEUE_NAME, redisOptions } from './redis';
import { DataRootError, flagsAsArgs, hashInputs, inputsProblem, resolveUnder, type RunDescription } from './run-description';
import { decodeScores, encodeOutputs } from './wire';

export const workerSpec: CommandSpec = {
  name: 'worker',
  summary: 'Scores the evaluations of `evolve --queue` runs from a Redis queue (BullMQ), on this machine.',
  usage: 'worker --queue redis://HOST:PORT [--data-root DIR] [--concurrency N] [--threads N]',
  help: [
    '  --queue URL             the Redis server the coordinators use (required)',
    '  --data-root DIR         the folder the runs\' files are read under (default: the current folder); paths leading',
    '                          out of it are refused',
    '  --concurrency N         jobs at once, each on its own copy of a run (default 1)',
    '  --stalled-ms MS         a job whose worker stops answering for this long runs again elsewhere (default 30000)',
    "  --device cpu|gpu        gpu: score on onnxruntime-node's CUDA execution provider, where installed (docs/gpu.md)",
    ...runtimeHelp,
  ].join('\n'),
  options: {
    queue: { type: 'string' },
    'data-root': { type: 'string' },
    concurrency: { type: 'string' },
    'stalled-ms': { type: 'string' },
    device: { type: 'string' },
    ...runtimeOptions,
  },
};

interface Copy {
  runId: string;
  follower: RunFollower;
}

/** One slot: the copy of the run it serves, made again when a job of another run comes. */
class Slot {
  private copy: Copy | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly root: string,
    private readonly runtimeArgs: string[],
    private readonly log: (text: string) => void,
  ) {}

  async serve(job: ShardJob): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      const copy = await this.copyFor(job);
      try {
        return await copy.follower.serve(job.evaluation, job.call, job.from, job.to);
      } catch (err) {
        if (!(err instanceof FollowerPassedError) || attempt > 0) throw err;
        this.drop('a job came for an earlier evaluation');
      }
    }
  }

  private drop(reason: string): void {
    this.copy?.follower.dispose(new Error(`copy dropped: ${reason}`));
    this.copy = null;
  }

  private async copyFor(job: ShardJob): Promise<Copy> {
    if (this.copy?.runId === job.runId) return this.copy;
    this.drop('another run');
    const text = await this.redis.get(runKeys(job.runId).description);
    if (!text) throw new UnrecoverableError(`run ${job.runId} has no description in Redis (its coordinator ended?)`);
    const description = JSON.parse(text) as RunDescription;
    if (description.inputsHash !== job.inputsHash) throw new UnrecoverableError(`run ${job.runId}: the job's input hash differs from its run's`);
    let args: string[];
    try {
      args = mapArgs(description.args, (name) => resolveUnder(this.root, name));
    } catch (err) {
      if (err instanceof DataRootError) throw new UnrecoverableError(`${workerName()} refused run ${job.runId}: ${err.message}`);
      throw err;
    }
    const parsed = parseCommand(evolveSpec, [...args, ...this.runtimeArgs]);
    const opened = await openEvolveRun(parsed);
    const problem = inputsProblem(description.files, hashInputs(opened.inputs).files);
    if (problem) throw new UnrecoverableError(`${workerName()} refused run ${job.runId}: ${problem}.`);
    const answers = runKeys(job.runId).answers;
    const follower = new RunFollower(async (from, to) => (await this.redis.lrange(answers, from, to - 1)).map(decodeScores));
    opened.engine.configureEvaluation({ route: follower });
    opened.engine.run(opened.settings, () => {}, description.journal).then(
      () => follower.end(new Error(`run ${job.runId} ended in this worker's copy`)),
      (err: Error) => follower.end(err),
    );
    this.log(`following run ${job.runId}: ${opened.settings.strategy}, ${opened.models.length} models, seed ${opened.settings.seed}`);
    this.copy = { runId: job.runId, follower };
    return this.copy;
  }
}

/** The description's file names (the path flags and the models) mapped to paths here. */
function mapArgs(args: readonly string[], map: (name: string) => string): string[] {
  const parsed = parseCommand(evolveSpec, args);
  if (parsed.positionals.length < 2) throw new UsageError('the run description names fewer than two models.', 'worker');
  return flagsAsArgs(evolveSpec, parsed, EVOLVE_PATH_OPTIONS, map, []);
}

function workerName(): string {
  return `worker ${hostname()}:${process.pid}`;
}

export async function worker({ values }: Parsed): Promise<number> {
  const url = requireOption(values, 'queue');
  const connection = redisOptions(url, 'worker');
  const root = stringOption(values, 'data-root') ?? process.cwd();
  const concurrency = numberOption(values, 'concurrency', 1, { min: 1, max: 64, integer: true });
  const stalledMs = numberOption(values, 'stalled-ms', 30000, { min: 500, integer: true });
  const runtimeArgs = (['threads', 'runtime', 'device'] as const).flatMap((k) => (typeof values[k] === 'string' ? [`--${k}`, values[k] as string] : []));
  resolveUnder(root, '.');
  const redis = await connectRedis(url, connection);
  const log = (text: string) => process.stderr.write(`${workerName()}: ${text}\n`);
  const workers: Worker<ShardJob, ShardResult>[] = [];
  for (let i = 0; i < concurrency; i++) {
    const slot = new Slot(redis, root, runtimeArgs, log);
    const w = new Worker<ShardJob, ShardResult>(
      QUEUE_NAME,
      async (job: Job<ShardJob>) => ({ outputs: encodeOutputs(await slot.serve(job.data)), worker: workerName() }),
      { connection, concurrency: 1, lockDuration: stalledMs, stalledInterval: stalledMs, maxStalledCount: 3 },
    );
    w.on('failed', (job, err) => log(`job ${job?.id ?? '?'} failed: ${err.message}`));
    w.on('error', (err) => log(`queue error: ${err.message}`));
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log(`listening on ${url} (data root ${root}, ${concurrency} slot${concurrency === 1 ? '' : 's'})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('closing (the job in flight finishes first)');
  await Promise.all(workers.map((w) => w.close()));
  redis.disconnect();
  return 0;
}
