import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { deTrialCpu, type DeStepParams } from '../src/kernels/de-step/de-step.cpu';
import { DeStepWasm } from '../src/kernels/de-step/de-step.wasm';
import { LinearCombineWasm } from '../src/kernels/linear-combine/linear-combine.wasm';
import { CounterRng, probabilityThreshold, rngKey } from '../src/kernels/rng/rng.cpu';
import { stagedMerges } from '../src/kernels/staged-merges/staged-merges.wasm';
import { taskVectorStatsCall } from '../src/kernels/staged-merges/staged-merges.threaded';
import { DARE_MIX, DARE_PARAM } from '../src/kernels/staged-merges/staged-merges.wat';
import { firstBitMismatch, seededFloats } from '../src/kernels/testing';
import { KernelThreads, SIDE_MAX_INTS, THREAD_CHUNK, THREADED_MIN_FLOATS } from '../src/kernels/threads/kernel-threads';
import { tiesMerge, tiesMergeTwin, type TiesParams } from '../src/kernels/task-vector/ties.cpu';
import { tiesFastWasm } from '../src/kernels/ties-fast/ties-fast.wasm';
import { spawnNodeKernelThreads } from './kernel-threads';

// Not a multiple of the chunk, nor of a SIMD lane group; past the size that is split.
const N = 5 * THREAD_CHUNK + 37;
const SLOTS = 8;
const rng = new CounterRng(0x7e4d5, 3);

const SLOT_PAGES = Math.ceil((SLOTS * (N + 4) * 4) / 65536);
/** The threads' scratch after the slots, as VectorMemory lays it out. */
const scratch = { at: SLOT_PAGES * 65536, bytes: 2 * 65536 };

function sharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: SLOT_PAGES + 2, maximum: 65536, shared: true });
}

const memory = sharedMemory();
const view = (k: number, shift = 0) => new Float32Array(memory.buffer, 4 * (k * (N + 4) + shift), N);
const pools: KernelThreads[] = [];

async function pool(threads: number, withScratch = false): Promise<KernelThreads> {
  const p = KernelThreads.open(memory, threads, spawnNodeKernelThreads, withScratch ? scratch : null)!;
  pools.push(p);
  // Workers start through tsx; until they run, the caller claims every chunk (same bits).
  const single = DeStepWasm.create(memory, p)!;
  for (let i = 0; i < 200 && p.chunks.workers === 0; i++) {
    single.trial({ target: view(0), base: view(1), plus: view(2), minus: view(3) }, view(7), params());
    await sleep(25);
  }
  return p;
}

function params(): DeStepParams {
  const offset = rng.nextInt(5_000_000);
  return { f: 2 * rng.nextUnit() - 0.5, cr: rng.nextUnit(), seed: rng.nextU32(), stream: rng.nextInt(1 << 20), offset, jRand: offset + rng.nextInt(N) };
}


afterAll(() => pools.forEach((p) => p.close()));

describe('kernel threads: the population kernels split over worker threads on a shared memory', () => {
  it.each([2, 3])('the DE step on %i threads has the TypeScript twin\'s bits, and the workers ran chunks', async (threads) => {
    const p = await pool(threads);
    const kernel = DeStepWasm.create(memory, p)!;
    expect(kernel.threadsFor(N)).toBe(threads);
    expect(kernel.threadsFor(THREADED_MIN_FLOATS - 1)).toBe(1);
    const before = { ...p.chunks };
    for (const cr of [0.3, 1]) {
      const data = [0, 1, 2, 3].map(() => seededFloats(rng, N));
      data.forEach((d, k) => view(k).set(d));
      const prm = { ...params(), cr };
      const reference = new Float32Array(N);
      deTrialCpu({ target: data[0]!, base: data[1]!, plus: data[2]!, minus: data[3]! }, reference, prm);
      // Under load a worker may wake after the caller claimed every chunk: repeat the call, each
      // checked, until workers ran some of its chunks (each call writes the same out).
      for (let i = 0; i < 400; i++) {
        if (i > 0) await sleep(5);
        const was = p.chunks.workers;
        view(4).fill(0);
        kernel.trial({ target: view(0), base: view(1), plus: view(2), minus: view(3) }, view(4), prm);
        expect(firstBitMismatch(view(4), reference)).toBe(-1);
        if (p.chunks.workers > was) break;
      }
      // In place (out is the target), as the population's crossover writes it.
      kernel.trial({ target: view(0), base: view(1), plus: view(2), minus: view(3) }, view(0), prm);
      expect(firstBitMismatch(view(0), reference)).toBe(-1);
    }
    expect(p.chunks.workers).toBeGreaterThan(before.workers);
  }, 60_000);

  it('linear, task arithmetic and the incremental update on 2 threads have one thread\'s bits', async () => {
    const p = await pool(2);
    const threaded = LinearCombineWasm.create(memory, p)!;
    const alone = LinearCombineWasm.create(memory)!;
    const models = [0, 1, 2].map((k) => view(k, 1));
    models.forEach((m) => m.set(seededFloats(rng, N)));
    const base = view(3, 2);
    base.set(seededFloats(rng, N));
    const w32 = new Float32Array([0.2, 0.5, 0.3]);
    const runs: [string, (k: LinearCombineWasm, out: Float32Array) => void][] = [
      ['linear', (k, out) => k.linear(out, models, w32, Math.fround(0.9))],
      ['task arithmetic', (k, out) => k.taskArithmetic(out, models, base, w32, Math.fround(1.1))],
      ['update', (k, out) => k.update(out, models[0]!, models[1]!, models[2]!, Math.fround(0.37))],
    ];
    for (const [, run] of runs) {
      run(alone, view(5));
      run(threaded, view(6, 3));
      expect(firstBitMismatch(view(6, 3), view(5))).toBe(-1);
    }
  }, 60_000);

  it.each([
    ['staging copies', false],
    ['in place on the scratch', true],
  ] as const)('the staged merges (DARE linear, weighted sums, their norms and dots, kinship\'s moments) on 2 threads, %s, have one thread\'s bits, in segments too', async (_how, inPlace) => {
    new Int32Array(memory.buffer, scratch.at, scratch.bytes / 4).fill(0);
    const p = await pool(2, inPlace);
    // The in-place kernels set the hash's constants in the caller's area (the first) when they start.
    expect(new Int32Array(memory.buffer, scratch.at + DARE_PARAM.m1, 1)[0]).toBe(inPlace ? DARE_MIX.m1 : 0);
    const staged = stagedMerges()!;
    const [base, ...models] = [0, 1, 2, 3].map((k) => view(k, k));
    base!.set(seededFloats(rng, N, 1e-3, 4));
    models.forEach((m) => m.set(base!.map((b) => b + seededFloats(rng, 1, 1e-5, 3)[0]!)));
    // The same arrays off the shared memory: no pool there, the one-thread loops.
    const [plainBase, ...plainModels] = [base!, ...models].map((v) => v.slice());
    const masks = models.map((_, i) => {
      const [key0, key1] = rngKey(rng.nextU32(), i);
      return { key0, key1, threshold: probabilityThreshold(0.3 + 0.4 * rng.nextUnit()) };
    });
    const params = masks.map((m) => ({ ...m, weight: Math.fround(rng.nextUnit()), scale: Math.fround(1 + rng.nextUnit()) }));
    const offset = 2 ** 32 - 3 * THREAD_CHUNK;
    const before = { ...p.chunks };
    const out = view(5, 1);
    const plainOut = new Float32Array(N);
    staged.dareLinear(models, base!, out, params, Math.fround(0.7), offset);
    staged.dareLinear(plainModels, plainBase!, plainOut, params, Math.fround(0.7), offset);
    expect(firstBitMismatch(out, plainOut)).toBe(-1);
    const weights = [0.25, -0.5, 1.5, 0.125];
    staged.weightedSum(out, [base!, ...models], weights);
    staged.weightedSum(plainOut, [plainBase!, ...plainModels], weights);
    expect(firstBitMismatch(out, plainOut)).toBe(-1);
    // The output one of the inputs (fused: in place), and a single input (separate passes), as SLERP and the merges write them.
    staged.weightedSum(out, [out, models[0]!], [0.75, 0.25]);
    staged.weightedSum(plainOut, [plainOut, plainModels[0]!], [0.75, 0.25]);
    expect(firstBitMismatch(out, plainOut)).toBe(-1);
    staged.weightedSum(out, [models[1]!], [-2]);
    staged.weightedSum(plainOut, [plainModels[1]!], [-2]);
    expect(firstBitMismatch(out, plainOut)).toBe(-1);
    // DARE writing over one of its models: the staged loops read it before they write.
    const overwritten = view(6, 2);
    overwritten.set(models[2]!);
    staged.dareLinear([models[0]!, models[1]!, overwritten], base!, overwritten, params, Math.fround(0.7), offset);
    staged.dareLinear(plainModels, plainBase!, plainOut, params, Math.fround(0.7), offset);
    expect(firstBitMismatch(overwritten, plainOut)).toBe(-1);
    expect(staged.taskVectorStats(models, base!)).toEqual(staged.taskVectorStats(plainModels, plainBase!));
    expect(staged.plainStats(models[0]!, models[1]!)).toEqual(staged.plainStats(plainModels[0]!, plainModels[1]!));
    for (const norm of ['l1', 'l2'] as const) expect(staged.dareNorms(models, base!, masks, offset, norm)).toEqual(staged.dareNorms(plainModels, plainBase!, masks, offset, norm));
    expect(staged.kinshipMoments(models[0]!, models[1]!, base!)).toEqual(staged.kinshipMoments(plainModels[0]!, plainModels[1]!, plainBase!));
    expect(staged.kinshipMoments(models[0]!, models[2]!, null)).toEqual(staged.kinshipMoments(plainModels[0]!, plainModels[2]!, null));
    // Segments of 2 chunks: the partials of one segment are folded before the next overwrites them.
    expect(p.reduce(taskVectorStatsCall(models, base!)!, 6, 2)).toEqual(staged.taskVectorStats(plainModels, plainBase!));
    expect(p.chunks.caller + p.chunks.workers).toBeGreaterThan(before.caller + before.workers + 30);
  }, 60_000);

  it('TIES\' speculative pass on 2 threads has the twin\'s bits, a chunk that defers past its slot run again on the caller', async () => {
    const p = await pool(2);
    const fast = tiesFastWasm()!;
    const [base, ...models] = [0, 1, 2, 3].map((k) => view(k, k));
    base!.set(seededFloats(rng, N));
    models.forEach((m) => m.set(base!.map((b) => b + seededFloats(rng, 1, 0.02, 3)[0]!)));
    const out = view(5, 1);
    const want = new Float32Array(N);
    const params: TiesParams[] = [
      { density: 0.5, weights: [1, 0.5, 0.25], normalize: true, consensus: 'sum' },
      { density: [0.2, 1, 0.7], weights: [0.3, -0.5, 2], lambda: 0.8, normalize: false, consensus: 'count' },
    ];
    const before = p.chunks.workers;
    for (const prm of params) {
      tiesMergeTwin(models, base!, want, prm);
      // Repeated until the workers ran some chunks (under load the caller may claim them all).
      for (let i = 0; i < 200; i++) {
        const was = p.chunks.workers;
        out.fill(Number.NaN);
        tiesMerge(models, base!, out, prm);
        expect([fast.lastPath, fast.lastSplit]).toEqual(['speculative', true]);
        expect(firstBitMismatch(out, want)).toBe(-1);
        if (p.chunks.workers > was) break;
        await sleep(5);
      }
    }
    expect(p.chunks.workers).toBeGreaterThan(before);
    // The side area grows as calls need it, up to its reserve: past it, the pass stays on one thread.
    expect(p.side(16)?.length).toBe(16);
    expect(p.side(SIDE_MAX_INTS + 1)).toBeNull();
    // A chunk's worth of task-vector magnitudes tied at the cut: more records than its slot
    // holds, so the caller runs that chunk again; the ties are kept in index order across chunks.
    const tied = models[0]!.subarray(2 * THREAD_CHUNK, 3 * THREAD_CHUNK);
    const magnitudes = Float32Array.from(models[0]!, (x, j) => Math.abs(x - base![j]!)).sort();
    tied.set(base!.subarray(2 * THREAD_CHUNK, 3 * THREAD_CHUNK).map((b) => b + magnitudes[N >> 1]!));
    for (const prm of params) {
      tiesMergeTwin(models, base!, want, prm);
      tiesMerge(models, base!, out, prm);
      expect([fast.lastPath, fast.lastSplit]).toEqual(['speculative', true]);
      expect(firstBitMismatch(out, want)).toBe(-1);
    }
  }, 60_000);

  it('TIES\' exact path on 2 threads (heavy ties at the cut, as bf16 checkpoints\' task vectors have) has the twin\'s bits, its ties kept in index order across chunks', async () => {
    await pool(2);
    const fast = tiesFastWasm()!;
    // A few delta levels: each model's window is one key, a third of the tensor or more.
    const [base, ...models] = [0, 1, 2, 3].map((k) => view(k, k));
    base!.set(seededFloats(rng, N));
    const levels = [2 ** -7, 3 * 2 ** -9, 2 ** -9];
    models.forEach((m) => m.set(base!.map((b) => b + (rng.nextU32() & 1 ? 1 : -1) * levels[rng.nextInt(3)]!)));
    const want = new Float32Array(N);
    const params: TiesParams[] = [
      { density: 0.5, weights: [1, 0.5, 0.25], normalize: true, consensus: 'sum' },
      { density: [0.3, 1, 0.05], weights: [0.3, -0.5, 2], lambda: 0.8, normalize: false, consensus: 'count' },
    ];
    const out = view(5, 1);
    for (const prm of params) {
      tiesMergeTwin(models, base!, want, prm);
      out.fill(Number.NaN);
      tiesMerge(models, base!, out, prm);
      expect([fast.lastPath, fast.lastSplit]).toEqual(['exact', true]);
      expect(firstBitMismatch(out, want)).toBe(-1);
      // Without the sample: wide windows pass on one thread, then a split pass counts each chunk's ties.
      out.fill(Number.NaN);
      const w32 = Float32Array.from(prm.weights!);
      const densities = typeof prm.density === 'number' ? [prm.density, prm.density, prm.density] : [...prm.density!];
      fast.merge(models, base!, out, { w32, densities, lambda: prm.lambda ?? 1, normalize: prm.normalize!, vote: prm.consensus! }, false);
      expect([fast.lastPath, fast.lastSplit]).toEqual(['exact', true]);
      expect(firstBitMismatch(out, want)).toBe(-1);
    }
    // Out is one of the models: each chunk reads its inputs before it writes.
    const prm = params[0]!;
    tiesMergeTwin(models, base!, want, prm);
    const m0 = view(6, 2);
    m0.set(models[0]!);
    tiesMerge([m0, models[1]!, models[2]!], base!, m0, prm);
    expect([fast.lastPath, fast.lastSplit]).toEqual(['exact', true]);
    expect(firstBitMismatch(m0, want)).toBe(-1);
  }, 60_000);

  it('a closed pool leaves every call on the calling thread', async () => {
    const p = await pool(2);
    p.close();
    expect(DeStepWasm.create(memory, p)!.threadsFor(N)).toBe(1);
  }, 60_000);
});
