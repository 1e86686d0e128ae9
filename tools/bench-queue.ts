/**
 * The queue's benchmark (`npm run bench -- --only queue`, and a section of the full run): the
 * classification sample evolved by the CLI in one process and through a Redis queue (a
 * redis-server of its own on a free port, workers as child processes, one thread each).
 * - Overhead per evaluation: the search's time per selection evaluation through the queue with
 *   1 worker against one process (the engine's own meter, so start-up is apart).
 * - Throughput: evaluations per second with 1, 2 and 4 workers.
 * Skipped, with a line saying so, where redis-server is not installed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI_BIN, startRedis, startWorker, type TestWorker } from '../cli/queue/queue-testing';

const exec = promisify(execFile);
const SAMPLES = path.resolve(import.meta.dirname, '../public/samples');
const GENERATIONS = 6;
const FILES = ['--dev', 'dev.jsonl', '--heldout', 'heldout.jsonl', '--tokenizer', 'tokenizer.json', 'expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx'];

/** The run's time per selection evaluation (search phase: DE steps, merges and scoring; the engine's own meter). */
async function msPerEvaluation(out: string, queue?: string): Promise<{ ms: number; evaluations: number }> {
  const { stdout } = await exec(process.execPath, [CLI_BIN, 'evolve', '--generations', String(GENERATIONS), '--seed', '5', '--threads', '1', '--json', '--out', out, ...(queue ? ['--queue', queue] : []), ...FILES], { cwd: SAMPLES, maxBuffer: 64 << 20 });
  const { counters } = JSON.parse(stdout) as { counters: { evaluations: number; msPerEvaluation: number } };
  return { ms: counters.msPerEvaluation, evaluations: counters.evaluations };
}

/** The median of three runs. */
async function medianOf(run: () => Promise<{ ms: number; evaluations: number }>): Promise<{ ms: number; evaluations: number }> {
  const runs = [await run(), await run(), await run()].sort((x, y) => x.ms - y.ms);
  return runs[1]!;
}

export async function queueBench(say: (text?: string) => void): Promise<void> {
  say('### Evaluation through the queue (BullMQ on Redis), classification sample');
  say();
  if (!['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some(existsSync)) {
    say('Skipped: redis-server is not installed (apt-get install redis-server).');
    say();
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-bench-queue-'));
  const redis = await startRedis();
  const workers: TestWorker[] = [];
  const grow = async (count: number) => {
    while (workers.length < count) workers.push(startWorker(redis.url, SAMPLES));
    await Promise.all(workers.map((w) => w.waitFor(/listening/)));
  };
  try {
    const out = (name: string) => path.join(tmp, `${name}.safetensors`);
    const single = await medianOf(() => msPerEvaluation(out('single')));
    const rows: string[] = [];
    for (const count of [1, 2, 4]) {
      await grow(count);
      const queued = await medianOf(() => msPerEvaluation(out(`queue-${count}`), redis.url));
      rows.push(`| queue, ${count} worker${count === 1 ? '' : 's'} | ${queued.ms.toFixed(1)} | ${(queued.ms - single.ms).toFixed(1)} ms (${((queued.ms / single.ms - 1) * 100).toFixed(0)}%) | ${(1000 / queued.ms).toFixed(2)} | ${(single.ms / queued.ms).toFixed(2)}× |`);
    }
    say(`The Evolver, ${GENERATIONS} generations (${single.evaluations} selection evaluations of 588 dev rows in 5 batches; each worker and the single process on one thread; ${os.cpus().length} cores shared by the coordinator, Redis and the workers). Time per evaluation is the engine's meter over the search (DE steps, merges and scoring), median of 3 runs:`);
    say();
    say('| path | ms per evaluation | overhead vs one process | evaluations / s | vs one process |');
    say('|---|---|---|---|---|');
    say(`| one process | ${single.ms.toFixed(1)} | – | ${(1000 / single.ms).toFixed(2)} | 1.00× |`);
    for (const r of rows) say(r);
    say();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
