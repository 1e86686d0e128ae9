/**
 * `evolve --queue` against a real Redis server started by the test, with CLI workers as child
 * processes: the distributed run writes the bytes the single process writes (sequence
 * classification and causal LM, 2 and 3 workers), a worker killed with SIGKILL mid-job changes
 * nothing but the time, a worker with a different dev file is refused, and an unreachable Redis
 * or a file outside the data root is a clear error.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from './redis';
import { CLI_BIN, freePort, startRedis, startWorker, type TestRedis, type TestWorker } from './queue-testing';

const exec = promisify(execFile);
const SAMPLES = path.resolve(import.meta.dirname, '../../public/samples');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-queue-'));

const CLASSIFIER = ['--dev', 'dev.jsonl', '--heldout', 'heldout.jsonl', '--tokenizer', 'tokenizer.json', 'expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx'];
const LM = ['--dev', 'lm/dev.jsonl', '--heldout', 'lm/heldout.jsonl', '--tokenizer', 'lm/tokenizer.json', '--batch', '64', 'lm/expert-easy-ham.onnx', 'lm/expert-hard-ham.onnx', 'lm/expert-spam.onnx'];
const SETTINGS = ['--generations', '1', '--seed', '5', '--threads', '1'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
}

/** `evolve` run in the samples folder (so the files are named relative to it). */
async function evolve(name: string, args: string[], queue?: string, cwd = SAMPLES): Promise<Run> {
  const out = path.join(tmp, `${name}.safetensors`);
  const all = [CLI_BIN, 'evolve', ...SETTINGS, ...(queue ? ['--queue', queue] : []), '--out', out, ...args];
  try {
    const { stdout, stderr } = await exec(process.execPath, all, { cwd, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr, out };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, out };
  }
}

const bytes = (file: string) => readFileSync(file);
const recipe = (run: Run) => readFileSync(run.out.replace(/\.safetensors$/, '.recipe.json'), 'utf8');

function expectSameResult(queued: Run, single: Run): void {
  expect(queued.code, queued.stderr).toBe(0);
  expect(bytes(queued.out).equals(bytes(single.out))).toBe(true);
  expect(recipe(queued)).toBe(recipe(single));
}

describe('evolve --queue on a Redis server', () => {
  let redis: TestRedis;
  const workers: TestWorker[] = [];
  let singleClassifier: Run;

  beforeAll(async () => {
    redis = await startRedis();
    singleClassifier = await evolve('single-classifier', CLASSIFIER);
    expect(singleClassifier.code, singleClassifier.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
  });

  it('with 2 and then 3 workers, sequence classification and a causal LM come out byte for byte as in one process', async () => {
    const singleLm = await evolve('single-lm', LM);
    expect(singleLm.code, singleLm.stderr).toBe(0);
    for (let i = 0; i < 2; i++) workers.push(startWorker(redis.url, SAMPLES));
    await Promise.all(workers.map((w) => w.waitFor(/listening/)));
    for (const count of [2, 3]) {
      if (count === 3) {
        workers.push(startWorker(redis.url, SAMPLES));
        await workers[2]!.waitFor(/listening/);
      }
      const classifier = await evolve(`queue-classifier-${count}`, CLASSIFIER, redis.url);
      expectSameResult(classifier, singleClassifier);
      // Every worker took part: the evaluations were split over all of them.
      expect(classifier.stderr).toMatch(new RegExp(`\\d+ jobs on ${count} workers`));
      const lm = await evolve(`queue-lm-${count}`, LM, redis.url);
      expectSameResult(lm, singleLm);
      expect(lm.stdout).toContain('dev NLL');
    }
    // Done jobs and the runs' keys are gone.
    const client = new Redis(redis.port, '127.0.0.1');
    expect(await client.keys('evolver:run:*')).toEqual([]);
    const queue = new Queue(QUEUE_NAME, { connection: { port: redis.port } });
    expect(await queue.getJobCountByTypes('completed', 'failed', 'wait', 'active')).toBe(0);
    await queue.close();
    client.disconnect();
  }, 400_000);

  it('a coordinator killed mid-run and started again with its --journal writes the same bytes', async () => {
    const journal = path.join(tmp, 'resume.journal');
    const out = path.join(tmp, 'resumed.safetensors');
    const args = [CLI_BIN, 'evolve', ...SETTINGS, '--queue', redis.url, '--journal', journal, '--out', out, ...CLASSIFIER];
    const first = spawn(process.execPath, args, { cwd: SAMPLES, stdio: 'ignore' });
    const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0);
    while (lines() < 5 && first.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    // Complete, the journal holds its header and 7 selection scores (3 checkpoints, the start, 3 offspring).
    expect(lines()).toBeLessThan(8);
    await exec(process.execPath, args, { cwd: SAMPLES, maxBuffer: 64 << 20 });
    // The stored scores were replayed, not made again: the journal holds each score once.
    expect(lines()).toBe(8);
    expect(bytes(out).equals(bytes(singleClassifier.out))).toBe(true);
  }, 240_000);

  it('a worker killed with SIGKILL in the middle of a job changes nothing but the time', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const doomed = startWorker(redis.url, SAMPLES, ['--stalled-ms', '1000']);
    const survivor = startWorker(redis.url, SAMPLES, ['--stalled-ms', '1000']);
    workers.push(survivor);
    await Promise.all([doomed.waitFor(/listening/), survivor.waitFor(/listening/)]);
    const running = evolve('queue-killed', CLASSIFIER, redis.url);
    // Its first job of the run is opening its copy of the run: kill it there.
    await doomed.waitFor(/following run/);
    doomed.process.kill('SIGKILL');
    const killed = await running;
    expectSameResult(killed, singleClassifier);
    expect(doomed.process.signalCode).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/\d+ jobs on 1 worker /);
  }, 240_000);

  it('a worker whose dev file differs from the coordinator\'s is refused, naming the file', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const other = path.join(tmp, 'other-root');
    mkdirSync(other);
    for (const f of ['heldout.jsonl', 'tokenizer.json', 'expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx']) copyFileSync(path.join(SAMPLES, f), path.join(other, f));
    const dev = readFileSync(path.join(SAMPLES, 'dev.jsonl'), 'utf8').split('\n');
    writeFileSync(path.join(other, 'dev.jsonl'), dev.slice(1).join('\n'));
    const stray = startWorker(redis.url, other);
    workers.push(stray);
    await stray.waitFor(/listening/);
    const refused = await evolve('queue-refused', CLASSIFIER, redis.url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused run .*dev\.jsonl differs from the coordinator's/);
    expect(stray.process.exitCode).toBeNull();
  }, 120_000);

  it('an unreachable Redis and a file outside --data-root are clear errors', async () => {
    const closed = await freePort();
    const unreachable = await evolve('queue-unreachable', CLASSIFIER, `redis://127.0.0.1:${closed}`);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(new RegExp(`cannot reach Redis at redis://127.0.0.1:${closed}`));
    const outside = await evolve('queue-outside', [...CLASSIFIER, '--data-root', path.join(SAMPLES, 'lm')], redis.url);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/dev\.jsonl is outside the data root .*workers read only under their --data-root/);
  }, 60_000);
});
