import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstBitMismatch } from '../src/kernels/testing';
import { CounterRng } from '../src/kernels/rng/rng.cpu';
import { seededFloats } from '../src/kernels/testing';
import { setKernelThreads } from '../src/kernels/threads/kernel-threads';
import type { ParameterLayout } from '../src/merge/layout';
import { CpuPopulation } from '../src/population/cpu-population';
import { mergePopulation } from '../src/population/make-population';
import { DEFAULT_MERGE, type MergeParams } from '../src/protocol/settings';
import { spawnNodeKernelThreads } from './kernel-threads';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasSamples, SAMPLES } from '../src/testing/samples';
import { cliProcess as cli } from './cli-testing';

// Three tensors, two of them past the size a kernel call is split at, none a multiple of a chunk.
const DIMS = [[611, 517], [300_001], [17, 3]];

function layout(): ParameterLayout {
  let offset = 0;
  const slots = DIMS.map((dims, i) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const slot = { name: `t${i}`, dims, size, offset, depth: i / 2, layer: `t${i}` };
    offset += size;
    return slot;
  });
  return { slots, totalSize: offset };
}

/** Two generations' worth of trials, merges and acceptances; the flats of every set after each step. */
async function run(params: MergeParams, threads: number): Promise<{ snapshots: Float32Array[]; kernelThreads: number; workerChunks: number }> {
  setKernelThreads(threads, threads > 1 ? spawnNodeKernelThreads : null);
  const l = layout();
  const data = new CounterRng(0xda7a, 1);
  const flats = [0, 1, 2].map(() => seededFloats(data, l.totalSize));
  const base = seededFloats(data, l.totalSize);
  const population = mergePopulation({ device: null, layout: l, flats, base, params }) as CpuPopulation;
  const snapshots: Float32Array[] = [];
  // Workers start through tsx, after the population: until one runs, the caller claims every
  // chunk. The first trial, repeated until a worker has run chunks, writes the candidate only.
  const first = { target: 0, base: 1, plus: 2, minus: 0 };
  for (let i = 0; threads > 1 && population.kernelChunks.workers === 0 && i < 400; i++) {
    population.trial(first, { f: 0.7, cr: 0.4, seed: 77, stream: 0, jRand: 1234 });
    await sleep(25);
  }
  for (let step = 0; step < 4; step++) {
    const target = step % 3;
    population.trial({ target, base: (target + 1) % 3, plus: (target + 2) % 3, minus: target }, { f: 0.7, cr: 0.4, seed: 77, stream: step, jRand: 1234 + step });
    await population.merge(target);
    snapshots.push(await population.read('candidate'), await population.read('merged'));
    if (step % 2 === 0) population.accept(target);
  }
  const { kernelThreads, kernelChunks } = population;
  population.dispose();
  return { snapshots, kernelThreads, workerChunks: kernelChunks.workers };
}

afterEach(() => setKernelThreads(1, null));

describe('a CPU population with its kernels on worker threads', () => {
  it.each(['linear', 'task_arithmetic', 'dare_linear', 'model_stock'] as const)('trials and %s merges have one thread\'s bits on 2 threads', async (method) => {
    const params = { ...DEFAULT_MERGE, method };
    const alone = await run(params, 1);
    const split = await run(params, 2);
    expect(alone.kernelThreads).toBe(1);
    expect(split.kernelThreads).toBe(2);
    expect(split.workerChunks).toBeGreaterThan(0);
    split.snapshots.forEach((flat, i) => expect(firstBitMismatch(flat, alone.snapshots[i]!), `snapshot ${i}`).toBe(-1));
  }, 60_000);
});

describe.skipIf(!hasSamples)('evolve with --threads 2', () => {
  it('writes the bytes --threads 1 writes, with onnxruntime-node scoring weights that live in shared memory', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-threads-'));
    const lm = path.join(SAMPLES, 'lm');
    const args = ['--generations', '1', '--seed', '3', '--dev', path.join(lm, 'dev.jsonl'), '--tokenizer', path.join(lm, 'tokenizer.json'), ...['easy-ham', 'hard-ham', 'spam'].map((d) => path.join(lm, `expert-${d}.onnx`))];
    const outs = [];
    for (const threads of ['1', '2']) {
      const out = path.join(tmp, `t${threads}.safetensors`);
      const run = await cli('evolve', '--threads', threads, '--out', out, ...args);
      expect(run.code, run.stderr).toBe(0);
      outs.push(readFileSync(out));
    }
    expect(outs[1]!.equals(outs[0]!)).toBe(true);
  }, 120_000);
});
