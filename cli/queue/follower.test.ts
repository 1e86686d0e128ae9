/**
 * The pure parts of the queue, without Redis: a worker's copy of a run answers the evaluations
 * before a job's with the coordinator's scores and runs the job's batches at its own; shards
 * cover every batch once, in order; scores and outputs cross JSON with every bit; names from a
 * run description never lead out of a worker's data root.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Scores } from '../../src/protocol/results';
import { planShards } from './coordinator';
import { FollowerPassedError, RunFollower } from './follower';
import { DataRootError, inputsProblem, resolveUnder } from './run-description';
import { decodeOutputs, decodeScores, encodeOutputs, encodeScores } from './wire';

const scores = (value: number): Scores => ({ task: 'sequence-classification', metrics: { accuracy: value }, size: 4, byDomain: [{ name: 'all', size: 4, metrics: { accuracy: value } }] } as unknown as Scores);
const call = { rows: 10, batches: 3, batchRows: 4 };

/** A run that asks for three evaluations and accepts the second when its score is above the first's. */
async function fakeRun(follower: RunFollower, seen: number[]): Promise<void> {
  const ask = async (tag: number) => {
    const s = await follower.evaluate(call, async (from, to) => Array.from({ length: to - from }, (_, i) => new Float32Array([tag, from + i])));
    seen.push(s.metrics.accuracy!);
    return s.metrics.accuracy!;
  };
  const first = await ask(0);
  const second = await ask(1);
  await ask(second > first ? 20 : 10);
}

describe('RunFollower', () => {
  it('replays the coordinator\'s scores up to the job, then runs the job\'s batches on the state they lead to', async () => {
    const answers = [scores(0.5), scores(0.75)];
    const asked: [number, number][] = [];
    const follower = new RunFollower(async (from, to) => (asked.push([from, to]), answers.slice(from, to)));
    const seen: number[] = [];
    void fakeRun(follower, seen);
    const first = await follower.serve(0, call, 0, 2);
    expect(first.map((o) => [...o])).toEqual([[0, 0], [0, 1]]);
    // Another shard of the same evaluation: the same candidate.
    expect((await follower.serve(0, call, 2, 3)).map((o) => [...o])).toEqual([[0, 2]]);
    // Evaluation 2 comes after the coordinator accepted evaluation 1 (0.75 > 0.5): tag 20.
    const third = await follower.serve(2, call, 1, 3);
    expect(third.map((o) => [...o])).toEqual([[20, 1], [20, 2]]);
    expect(seen).toEqual([0.5, 0.75]);
    expect(asked).toEqual([[0, 2]]);
  });

  it('refuses a job for an evaluation it has passed, and one of another shape', async () => {
    const follower = new RunFollower(async (from, to) => [scores(0.5), scores(0.25)].slice(from, to));
    void fakeRun(follower, []);
    await follower.serve(1, call, 0, 1);
    await expect(follower.serve(0, call, 0, 1)).rejects.toBeInstanceOf(FollowerPassedError);
    await expect(follower.serve(1, { ...call, rows: 11 }, 0, 1)).rejects.toThrow(/out of step: its evaluation 2 is of 10 rows in 3 batches, the job's of 11 rows/);
  });

  it('fails a job when the run ended before reaching it', async () => {
    const follower = new RunFollower(async () => [scores(1)]);
    follower.end(new Error('the run ended'));
    await expect(follower.serve(0, call, 0, 1)).rejects.toThrow('the run ended');
  });
});

describe('queue plumbing', () => {
  it('shards cover every batch once, in order, at most one per batch', () => {
    for (const [batches, shards] of [[5, 2], [5, 3], [2, 3], [1, 1], [7, 7], [9, 4]] as const) {
      const plan = planShards(batches, shards);
      expect(plan.length).toBe(Math.min(batches, shards));
      expect(plan[0]!.from).toBe(0);
      expect(plan.at(-1)!.to).toBe(batches);
      plan.forEach((s, i) => i > 0 && expect(s.from).toBe(plan[i - 1]!.to));
      expect(Math.max(...plan.map((s) => s.to - s.from)) - Math.min(...plan.map((s) => s.to - s.from))).toBeLessThanOrEqual(1);
    }
  });

  it('scores keep NaN and infinities, outputs every float32 bit', () => {
    const s = { ...scores(NaN), metrics: { accuracy: NaN, pearson: -Infinity, mse: 0.1 + 0.2 } } as unknown as Scores;
    const back = decodeScores(encodeScores(s));
    expect(back.metrics.accuracy).toBeNaN();
    expect(back.metrics.pearson).toBe(-Infinity);
    expect(back.metrics.mse).toBe(0.1 + 0.2);
    const raw = new Float32Array([1.1, -0, NaN, 3.4e38, 1e-45]);
    const [round] = decodeOutputs(encodeOutputs([raw.subarray(1)]));
    expect(new Uint32Array(round!.buffer)).toEqual(new Uint32Array(raw.slice(1).buffer));
  });

  it('a worker reads only under its data root', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'evolver-root-'));
    mkdirSync(path.join(root, 'models'));
    writeFileSync(path.join(root, 'models/a.onnx'), 'x');
    const outside = mkdtempSync(path.join(os.tmpdir(), 'evolver-outside-'));
    writeFileSync(path.join(outside, 'secret'), 'y');
    symlinkSync(path.join(outside, 'secret'), path.join(root, 'link'));
    expect(resolveUnder(root, 'models/a.onnx')).toBe(path.join(root, 'models/a.onnx'));
    expect(() => resolveUnder(root, '../etc/passwd')).toThrow(DataRootError);
    expect(() => resolveUnder(root, '/etc/passwd')).toThrow(/not a path under this worker's --data-root/);
    expect(() => resolveUnder(root, 'link')).toThrow(/leads out of this worker's --data-root/);
    expect(() => resolveUnder(root, 'missing.onnx')).toThrow(/no such file or folder/);
  });

  it('names the first input that differs', () => {
    const a = [{ name: 'dev.jsonl', bytes: 10, sha256: 'a'.repeat(64) }];
    expect(inputsProblem(a, a)).toBeNull();
    expect(inputsProblem(a, [{ ...a[0]!, sha256: 'b'.repeat(64) }])).toMatch(/^dev\.jsonl differs from the coordinator's \(10 bytes, sha256 bbbbbbbbbbbb… here/);
    expect(inputsProblem(a, [])).toMatch(/the coordinator read dev\.jsonl, which this worker did not/);
  });
});
