/**
 * `npm run bench`: the performance goals, measured as ratios within one run, appended to
 * BENCHMARKS.md with the machine, the date and the exact command.
 *
 * 1. Evolution overhead: time per offspring (mutation + merge + dev evaluation) over the
 *    time of one plain dev evaluation of a fixed model, same runtime, same dev set.
 * 2. Counters: sessions created and weight bytes read back per offspring.
 * 3. The DE step and every merger on 58.7M floats, as GB/s of parameters and as a ratio
 *    to a measured memcpy of the same vector; the same DE step in NumPy and PyTorch
 *    (Debian's python3-numpy / python3-torch, when installed) on the same vectors.
 *    The same on the GPU path, against a buffer copy (a software adapter is labelled so), and
 *    beside PyTorch on CUDA where the machine has it (`--only gpu`). EVOLVER_BENCH_PYTHON names
 *    the Python holding NumPy and PyTorch (Debian's /usr/bin/python3 by default).
 *    Section 2 alone: `--only kernels`. Rows of what bounds the staged kernels: DARE's hash
 *    alone, and the copies of the inputs alone.
 * 4. TIES' magnitude threshold by radix selection vs a full sort, 58.7M elements.
 * 5. Scaling of a generation's population work with 2, 4, 8 models and 1×, 4×, 16× the
 *    sample's parameters (CPU), and of a whole generation with evaluation on the sample.
 * 0. Streaming merges of BF16 checkpoints of 1 and 2.2 GB each (EVOLVER_BENCH_STREAM_GB) beside
 *    the read + write floor and torch streaming on the same files (bench-stream.ts);
 *    `npm run bench -- --only stream [--out FILE]` runs it alone.
 * 0b. Evaluation through the Redis queue: overhead per evaluation and throughput with 1, 2, 4
 *    workers (bench-queue.ts; `--only queue`).
 * 0c. The evaluation runtime (bench-eval.ts) on the classifier and the causal-LM samples, 1
 *    thread and the cores: the CLI's dev evaluation over onnxruntime-node's session.run, and
 *    time per offspring over one evaluation (`--only eval`).
 *
 * Timings take the median of several runs after a warm-up. V8 compiles wasm with both its
 * tiers, as the CLI does on onnxruntime-node; section 1 runs last, holding the wasm compiled
 * from then on to Liftoff for its onnxruntime-web session, as the CLI does on onnxruntime-web
 * (cli/wasm-tiering.ts).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CpuMerger } from '../src/merge/cpu-merger';
import { CpuPopulation } from '../src/population/cpu-population';
import { runEvolver } from '../src/search/evolver';
import { flattenParameters, mergedLayout, type ParameterLayout } from '../src/merge/layout';
import { DEFAULT_MERGE, type MergeMethod, type MergeParams } from '../src/protocol/settings';
import { Workspace } from '../src/project/workspace';
import { DEFAULT_SETTINGS, type EvolverSettings } from '../src/protocol/settings';
import { DatasetEvaluator } from '../src/eval/evaluator';
import { cpuRuntimeName, ortCounters, ortThreads, WeightFedSession } from '../src/eval/ort';
import { weightsToInputs } from '../src/formats/onnx-rewrite';
import { gpuTransferCounters } from '../src/gpu/buffers';
import { requestStudioDevice } from '../src/gpu/device';
import { getNodeGpu } from '../src/gpu/node-gpu';
import { GpuPopulation } from '../src/population/gpu-population';
import { deStepCpu, interpolationVectors } from '../src/kernels/de-step/de-step.cpu';
import { DeStepWasm } from '../src/kernels/de-step/de-step.wasm';
import { VectorMemory } from '../src/population/wasm-memory';
import { LinearCombineWasm } from '../src/kernels/linear-combine/linear-combine.wasm';
import { KernelThreads } from '../src/kernels/threads/kernel-threads';
import { spawnNodeKernelThreads } from '../cli/kernel-threads';
import { keepWasmOnLiftoff } from '../cli/wasm-tiering';
import { linearMergePlan } from '../src/merge/linear-plan';
import { kinshipMomentsCpu } from '../src/kernels/kinship/kinship.cpu';
import { topKMagnitudeCut, trimCount } from '../src/kernels/task-vector/magnitude-select.cpu';
import { CounterRng } from '../src/kernels/rng/rng.cpu';
import { STAGED_BLOCK, stagedMerges } from '../src/kernels/staged-merges/staged-merges.wasm';
import { dareMasks } from '../src/kernels/task-vector/params';
import { sampleFiles } from '../src/testing/samples';
import { streamMergeBench } from './bench-stream';
import { queueBench } from './bench-queue';
import { median, samplesOf } from './timing';

const ROOT = path.resolve(import.meta.dirname, '..');
const PAPER_FLOATS = 58_700_000;
/** The Python with NumPy and PyTorch for the comparison rows (Debian's by default). */
const BENCH_PYTHON = process.env.EVOLVER_BENCH_PYTHON ?? '/usr/bin/python3';

/** tools/bench_de.py's JSON for these arguments, under BENCH_PYTHON (throws where it fails). */
function benchDe<T>(args: readonly string[]): T {
  return JSON.parse(execFileSync(BENCH_PYTHON, [path.join(ROOT, 'tools', 'bench_de.py'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as T;
}

/** The last line a failed child process wrote to stderr (else the error): why a row is not measured. */
function failure(err: unknown): string | undefined {
  return ((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n').pop();
}
const lines: string[] = [];
const say = (text = '') => {
  lines.push(text);
  process.stderr.write(`${text}\n`);
};

/** Median wall time in ms of fn over `runs` runs after one warm-up. */
/**
 * The merger settings the bench times: density 0.5 where a method trims (the defaults are
 * mergekit's 1, which would skip the selection), and DARE rescaled by 1/p, the pure-encoder
 * path (the L1 rescale, the default, reads back per-tensor norms first).
 */
function benchParams(method: MergeMethod): MergeParams {
  const trims = method === 'ties' || method.startsWith('dare');
  return { ...DEFAULT_MERGE, method, ...(trims ? { density: 0.5 } : {}), ...(method.startsWith('dare') ? { rescale_norm: 'density' } : {}) } as MergeParams;
}

async function time(fn: () => unknown, runs = 5): Promise<number> {
  return median(await samplesOf(fn, runs));
}

function randomVector(n: number, seed: number, around: Float32Array | null = null, scale = 1): Float32Array {
  const rng = new CounterRng(seed, 77);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (around ? around[i]! : 0) + scale * (rng.nextUnit() * 2 - 1);
  return out;
}

async function overhead(): Promise<void> {
  say('### 1. Evolution overhead and counters (WASM path, sample checkpoints, 588 dev rows)');
  say();
  const ws = new Workspace();
  const report = ws.addFiles(sampleFiles());
  if (report.problems.length > 0) throw new Error(report.problems.map((p) => p.message).join('; '));
  const members = ws.population();
  const layout = mergedLayout(members.map((m) => m.model));
  const flats = members.map((m) => flattenParameters(m.model, layout));
  const session = await WeightFedSession.create({
    modelBytes: weightsToInputs(members[0]!.bytes, new Set(layout.slots.map((s) => s.name))),
    path: 'wasm',
    weights: layout.slots.map((s) => ({ name: s.name, dims: s.dims })),
  });
  const dev = new DatasetEvaluator(session, ws.splits().dev);
  const fixed = new CpuPopulation(layout, flats, new CpuMerger(layout, DEFAULT_MERGE, null));
  const plain = await time(() => dev.score(fixed.handles(0)), 9);

  const rows: string[][] = [];
  for (const [label, settings] of [
    ['Evolver + average, with merger', { ...DEFAULT_SETTINGS, generations: 4 }],
    ['Evolver, without merger', { ...DEFAULT_SETTINGS, generations: 4, mode: 'individual' }],
    ['jDE (DE/rand/1) + average', { ...DEFAULT_SETTINGS, generations: 4, mutation: 'rand1', adaptive: true }],
  ] as [string, EvolverSettings][]) {
    const population = new CpuPopulation(layout, flats, new CpuMerger(layout, settings.merger, null));
    const sessionsBefore = ortCounters.sessionsCreated;
    let offspringStart = 0;
    let offspringEnd = 0;
    let evaluations = 0;
    let chartMs = 0;
    const outcome = await runEvolver(population, settings, {
      score: async (set) => {
        evaluations++;
        const t = performance.now();
        const fitness = await dev.fitness(population.handles(set));
        // Without merger, the merge is scored once per generation for the chart only.
        if (settings.mode === 'individual' && set === 'merged' && offspringStart > 0) chartMs += performance.now() - t;
        return fitness;
      },
      onProgress: (e) => {
        // The generation-0 record closes the starting evaluations; offspring follow.
        if (e.type === 'generation' && e.stat.generation === 0) offspringStart = performance.now();
        if (e.type === 'offspring') offspringEnd = performance.now();
      },
    });
    const perOffspring = (offspringEnd - offspringStart - chartMs) / outcome.offspring;
    const chart = chartMs > 0 ? ` (+${(chartMs / outcome.offspring).toFixed(1)} for the chart's merge score)` : '';
    rows.push([label, plain.toFixed(1), `${perOffspring.toFixed(1)}${chart}`, (perOffspring / plain).toFixed(3), String(ortCounters.sessionsCreated - sessionsBefore), String(evaluations)]);
  }
  say('| run | plain dev evaluation (ms) | per offspring (ms) | ratio (goal ≤ 1.10) | sessions created during run | dev evaluations |');
  say('|---|---|---|---|---|---|');
  for (const r of rows) say(`| ${r.join(' | ')} |`);
  say();
  say('Per offspring = the DE step, the merge with the candidate in place and one dev evaluation. Without merger, each');
  say('generation also scores the merged population once for the chart (never for selection): shown apart. Evaluation');
  say('dominates: the DE step and merge of 233K parameters take well under a millisecond.');
  await session.release();

  // GPU population (Dawn in Node): the offspring loop's weight traffic.
  const gpu = await getNodeGpu();
  if (!gpu) {
    say('GPU population: no WebGPU adapter in Node here; the browser e2e (e2e/webgpu.spec.ts) asserts 0 sessions and 0 bytes per offspring.');
    say();
    return;
  }
  const studio = await requestStudioDevice(gpu);
  const params: MergeParams = { ...DEFAULT_MERGE, method: 'ties' };
  const base = randomVector(layout.totalSize, 9, flats[0]!, 0.01);
  const pop = new GpuPopulation(studio.device, layout, flats, params, base);
  const before = gpuTransferCounters.bytesReadBack;
  for (let k = 0; k < 12; k++) {
    pop.trial({ target: k % 3, base: k % 3, plus: (k + 1) % 3, minus: k % 3 }, { f: 0.5, cr: 0.5, seed: 1, stream: k + 1, jRand: k });
    await pop.merge(k % 3);
    if (k % 2) pop.accept(k % 3);
  }
  await studio.device.queue.onSubmittedWorkDone();
  say(`GPU population (${studio.adapterInfo.description || studio.adapterInfo.vendor}${studio.isSoftware ? ', software' : ''}): 12 offspring with the TIES merger read back ${(gpuTransferCounters.bytesReadBack - before) / 12} weight bytes per offspring (goal 0). The offspring are fed to onnxruntime-web as GPU buffers in the browser (e2e/webgpu.spec.ts asserts 0 sessions and 0 bytes there).`);
  say();
  pop.dispose();
  studio.device.destroy();
}

async function kernels(tmp: string): Promise<void> {
  const n = PAPER_FLOATS;
  say(`### 2. DE step and mergers on ${(n / 1e6).toFixed(1)}M floats (CPU path, one thread unless a row says its threads)`);
  say();
  const base = randomVector(n, 1);
  const models = [2, 3, 4].map((seed) => randomVector(n, seed, base, 0.01));
  const out = new Float32Array(n);
  const memcpy = await time(() => out.set(models[0]!));
  const gbps = (bytes: number, ms: number) => (bytes / 1e9 / (ms / 1e3)).toFixed(2);
  const paramBytes = n * 4;
  const rows: [string, number][] = [];
  const layout: ParameterLayout = { slots: [{ name: 'w', dims: [n], size: n, offset: 0, depth: 0, layer: 'w' }], totalSize: n };
  const deParams = { f: 0.5, cr: 0.5, seed: 1, stream: 2, offset: 0, jRand: 5 };
  rows.push(['DE step, TypeScript twin (the Evolver: interpolation, CR 0.5, j_rand)', await time(() => deStepCpu(models[0]!, models[1]!, out, deParams))]);
  // The same step in WebAssembly SIMD, in place on vectors of one WebAssembly.Memory (as the CPU
  // population holds them), on the calling thread; checked bit for bit against the twin's output.
  const simdMemory = VectorMemory.open(n, 3);
  const simd = simdMemory && DeStepWasm.create(simdMemory.memory);
  if (simdMemory && simd) {
    const [x, d, o] = [simdMemory.take()!, simdMemory.take()!, simdMemory.take()!];
    x.set(models[0]!);
    d.set(models[1]!);
    simd.trial(interpolationVectors(x, d), o, deParams);
    const same = sameBits(o, out);
    const simdMemcpy = await time(() => o.set(x));
    rows.push([`DE step, WebAssembly SIMD in place (1 thread${same ? ', bit-identical to the twin' : ', DIFFERS from the twin'})`, await time(() => simd.trial(interpolationVectors(x, d), o, deParams))]);
    rows.push(['memcpy within the WebAssembly.Memory (o.set(x))', simdMemcpy]);
  }
  const merge = (method: MergeMethod, count = 3, extra: Partial<MergeParams> = {}) => {
    const merger = new CpuMerger(layout, { ...benchParams(method), ...extra } as MergeParams, base);
    return time(() => merger.mergeInto(out, models.slice(0, count)), 3);
  };
  // The linear merges as the CPU population runs them: WebAssembly SIMD in place on five views of
  // one memory (3 models, the base, the output), each held bit for bit to the twin's merge.
  const linearRows = async (kernels: LinearCombineWasm, views: Float32Array[], label: (name: string, same: boolean) => string) => {
    const [x0, x1, x2, b, o] = views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    [x0, x1, x2].forEach((v, i) => v.set(models[i]!));
    b.set(base);
    for (const [name, method] of [
      ['simple average (3 models), WebAssembly SIMD in place', 'linear'],
      ['task arithmetic (3 models), WebAssembly SIMD in place', 'task_arithmetic'],
    ] as [string, MergeMethod][]) {
      const plan = linearMergePlan(benchParams(method), layout, 3, true)!;
      const run = () => (method === 'linear' ? kernels.linear(o, [x0, x1, x2], plan.weights[0]!, plan.scales[0]!) : kernels.taskArithmetic(o, [x0, x1, x2], b, plan.weights[0]!, plan.scales[0]!));
      run();
      new CpuMerger(layout, benchParams(method), base).mergeInto(out, models.slice(0, 3));
      rows.push([label(name, sameBits(o, out)), await time(run)]);
    }
  };
  const linearMemory = VectorMemory.open(n, 5);
  const linear = linearMemory && LinearCombineWasm.create(linearMemory.memory);
  if (linearMemory && linear) {
    await linearRows(linear, [0, 1, 2, 3, 4].map(() => linearMemory.take()!), (name, same) => `${name}${same ? ', bit-identical to the twin' : ', DIFFERS from the twin'}`);
  }
  // The same in-place kernels split over worker threads sharing the memory (the CLI's --threads,
  // default the cores): same bits, checked against the one-thread outputs above.
  const threads = os.availableParallelism();
  const shared = threads > 1 ? VectorMemory.open(n, 6, true) : null;
  const pool = shared?.shared ? KernelThreads.open(shared.memory, threads, spawnNodeKernelThreads, shared.scratch) : null;
  if (shared && pool) {
    const views = [0, 1, 2, 3, 4].map(() => shared.take()!);
    const [x0, x1, , , o] = views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    x0.set(models[0]!);
    x1.set(models[1]!);
    const de = DeStepWasm.create(shared.memory, pool)!;
    const lc = LinearCombineWasm.create(shared.memory, pool)!;
    // Workers start through tsx: wait until they claim chunks before timing.
    for (let i = 0; i < 400 && pool.chunks.workers === 0; i++) {
      de.trial(interpolationVectors(x0, x1), o, deParams);
      await new Promise((r) => setTimeout(r, 25));
    }
    const bitLabel = (same: boolean) => (same ? 'bit-identical to one thread' : 'DIFFERS from one thread');
    de.trial(interpolationVectors(x0, x1), o, deParams);
    deStepCpu(models[0]!, models[1]!, out, deParams);
    rows.push([`DE step, WebAssembly SIMD in place, ${threads} threads (${bitLabel(sameBits(o, out))})`, await time(() => de.trial(interpolationVectors(x0, x1), o, deParams))]);
    await linearRows(lc, views, (name, same) => `${name}, ${threads} threads (${bitLabel(same)})`);
    // The staged merges on the same views (the base too), as the CPU population runs them: their
    // passes and sums split over the pool, checked against the merge of the plain arrays.
    const [b, x2] = [views[3]!, views[2]!];
    b.set(base);
    x2.set(models[2]!);
    for (const [label, method, count, extra] of [
      ['DARE linear (3 models)', 'dare_linear', 3, {}],
      ['DARE linear (3 models, rescale_norm l1)', 'dare_linear', 3, { rescale_norm: 'l1' }],
      ['SLERP (2 models)', 'slerp', 2, {}],
      ['model stock (3 models)', 'model_stock', 3, {}],
      ['TIES (3 models, density 0.5, radix select)', 'ties', 3, {}],
    ] as [string, MergeMethod, number, Partial<MergeParams>][]) {
      const params = { ...benchParams(method), ...extra } as MergeParams;
      new CpuMerger(layout, params, base).mergeInto(out, models.slice(0, count));
      const merger = new CpuMerger(layout, params, b);
      merger.mergeInto(o, views.slice(0, count));
      rows.push([`${label}, ${threads} threads (${bitLabel(sameBits(o, out))})`, await time(() => merger.mergeInto(o, views.slice(0, count)), 3)]);
    }
    const moments = kinshipMomentsCpu(models[0]!, models[1]!, base);
    const sameMoments = JSON.stringify(kinshipMomentsCpu(x0, x1, b)) === JSON.stringify(moments);
    rows.push([`kinship moments (one pair, against the base), ${threads} threads (${bitLabel(sameMoments)})`, await time(() => kinshipMomentsCpu(x0, x1, b), 3)]);
    // Checkpoints stored in bf16 (most LLMs): their task vectors take few values, so many tie
    // at TIES' cut and the merge takes the exact path (a window pass, then the merge pass).
    const bf16 = new Uint32Array(1);
    const bf16Float = new Float32Array(bf16.buffer);
    const toBf16 = (v: Float32Array) => v.forEach((x, j) => {
      bf16Float[0] = x;
      bf16[0] = bf16[0]! & 0xffff_0000;
      v[j] = bf16Float[0]!;
    });
    [b, x0, x1, x2].forEach(toBf16);
    const [pb, p0, p1, p2] = [b, x0, x1, x2].map((v) => v.slice());
    const tiesParams = benchParams('ties');
    const bf16Ties = new CpuMerger(layout, tiesParams, pb);
    bf16Ties.mergeInto(out, [p0, p1, p2]);
    const bf16Split = new CpuMerger(layout, tiesParams, b);
    bf16Split.mergeInto(o, [x0, x1, x2]);
    rows.push([`TIES (3 models, density 0.5) on bf16-valued checkpoints (the exact path), 1 thread`, await time(() => bf16Ties.mergeInto(out, [p0, p1, p2]), 3)]);
    rows.push([`TIES (3 models, density 0.5) on bf16-valued checkpoints (the exact path), ${threads} threads (${bitLabel(sameBits(o, out))})`, await time(() => bf16Split.mergeInto(o, [x0, x1, x2]), 3)]);
    const chunks = pool.chunks;
    say(`Kernel threads: ${threads} (the caller and ${threads - 1} worker${threads > 2 ? 's' : ''}); of the split calls' chunks, the workers ran ${((100 * chunks.workers) / (chunks.workers + chunks.caller)).toFixed(0)} %.`);
    say();
    pool.close();
  }
  for (const [label, method, count] of [
    ['simple average (3 models), TypeScript twin', 'average', 3],
    ['task arithmetic (3 models), TypeScript twin', 'task_arithmetic', 3],
    ['TIES (3 models, density 0.5, radix select)', 'ties', 3],
    ['DARE linear (3 models)', 'dare_linear', 3],
    ['SLERP (2 models)', 'slerp', 2],
    ['model stock (3 models)', 'model_stock', 3],
  ] as [string, MergeMethod, number][]) {
    rows.push([label, await merge(method, count)]);
  }
  rows.push(["DARE linear (3 models, rescale_norm l1: the method's and mergekit's default, a norm pass first)", await merge('dare_linear', 3, { rescale_norm: 'l1' } as Partial<MergeParams>)]);
  // What bounds the staged kernels (DARE, SLERP, model stock): the counter hash of DARE's keep
  // masks alone, the ordered sums alone, and the copies of the inputs into a kernel's memory alone.
  const staged = stagedMerges();
  if (staged) {
    const masks = dareMasks([0.5, 0.5, 0.5], 1, true);
    rows.push(['DARE keep masks alone (the counter hash, 3 models, WebAssembly SIMD)', await time(() => {
      for (const m of masks) for (let at = 0; at < n; at += STAGED_BLOCK) staged.dareMask(Math.min(STAGED_BLOCK, n - at), at, m.key0, m.key1, m.threshold);
    }, 3)]);
  }
  if (staged) {
    // SLERP's and model stock's norms and dots: f64 sums in four lanes per chunk (the twins' bits).
    rows.push(["SLERP's sums alone (‖x‖², ‖y‖², x·y: three f64 sums in four lanes per chunk, WebAssembly, 1 thread)", await time(() => staged.plainStats(models[0]!, models[1]!), 3)]);
    rows.push(["model stock's sums alone (‖τᵢ‖² and τᵢ·τⱼ of 3 models: six f64 sums in four lanes per chunk, WebAssembly, 1 thread)", await time(() => staged.taskVectorStats(models, base), 3)]);
  }
  const block = new Float32Array(STAGED_BLOCK);
  rows.push([`staging alone (the base and 3 models copied in ${(STAGED_BLOCK * 4) / 1024} KiB blocks)`, await time(() => {
    for (const x of [base, ...models]) for (let at = 0; at < n; at += STAGED_BLOCK) block.set(x.subarray(at, at + STAGED_BLOCK));
  }, 3)]);
  rows.push(['kinship moments (one pair, against the base: six f64 sums in four lanes per chunk, WebAssembly, 1 thread)', await time(() => kinshipMomentsCpu(models[0]!, models[1]!, base), 3)]);
  say(`memcpy of one ${(paramBytes / 1e6).toFixed(0)} MB vector (Float32Array.set): ${memcpy.toFixed(1)} ms, ${gbps(paramBytes, memcpy)} GB/s.`);
  say();
  say('| operation | ms | GB/s of output parameters | × memcpy |');
  say('|---|---|---|---|');
  for (const [label, ms] of rows) say(`| ${label} | ${ms.toFixed(1)} | ${gbps(paramBytes, ms)} | ${(ms / memcpy).toFixed(2)} |`);
  say();
  againstGoals(rows, memcpy, pool ? threads : 1);

  // The same DE step in NumPy and PyTorch, on the same two vectors.
  const [xFile, dFile] = [path.join(tmp, 'x.f32'), path.join(tmp, 'd.f32')];
  writeFileSync(xFile, new Uint8Array(models[0]!.buffer));
  writeFileSync(dFile, new Uint8Array(models[1]!.buffer));
  for (const lib of ['numpy', 'torch']) {
    try {
      const result = benchDe<{ de_ms: number; memcpy_ms: number; version: string }>([lib, xFile, dFile]);
      say(`- ${lib} ${result.version}: DE step ${result.de_ms.toFixed(1)} ms, its memcpy ${result.memcpy_ms.toFixed(1)} ms, ${(result.de_ms / result.memcpy_ms).toFixed(1)}× its memcpy; ${(result.de_ms / rows[0]![1]).toFixed(1)}× the studio's TypeScript DE step.`);
    } catch (err) {
      say(`- ${lib}: not measured (${failure(err)}); install Debian's python3-${lib}.`);
    }
  }
  say();

}

/** Whether two float arrays hold the same bits. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/**
 * Each CPU kernel's goal beside its fastest path in this run's rows (× memcpy), and, for the
 * staged kernels that miss it, the rows of what bounds them: the parts they cannot skip.
 */
function againstGoals(rows: [string, number][], memcpy: number, threads: number): void {
  const ratio = (prefix: string, where: (label: string) => boolean = () => true) => {
    const found = rows.filter(([label]) => label.startsWith(prefix) && where(label)).map(([, ms]) => ms / memcpy);
    return found.length > 0 ? Math.min(...found) : null;
  };
  const fast = (label: string) => !label.includes('TypeScript twin');
  const x = (v: number | null) => (v === null ? 'not measured' : `${v.toFixed(2)}×`);
  const staging = ratio('staging alone');
  // A one-thread "alone" row, and its share on each of the run's threads (the split rows run in place: no staging).
  const split = (prefix: string) => {
    const alone = ratio(prefix);
    return `${x(alone)} alone on one thread${threads > 1 && alone !== null ? `, ${x(alone / threads)} split over ${threads}` : ''}`;
  };
  const goals: [string, number | null, number, string][] = [
    ['DE step', ratio('DE step', fast), 3, "its crossover draws' counter hash (two rounds per float), split over the run's threads"],
    ['simple average, 3 models', ratio('simple average', fast), 3, 'memory: it reads 3 vectors and writes one where memcpy reads one'],
    ['task arithmetic, 3 models', ratio('task arithmetic', fast), 3, 'memory: it reads 4 vectors (the base too) and writes one where memcpy reads one'],
    ['TIES 0.5, 3 models', ratio('TIES (3', (label) => !label.includes('bf16')), 15, `one pass over the base and the models, each chunk copied through a thread's kernel memory (the inputs' copies alone: ${x(staging)} on one thread), after a sample and before the deferred records' merge, both on one thread; against torch kthvalue: the streaming section`],
    ['TIES 0.5, 3 models, bf16-valued (ties at the cut)', ratio('TIES (3 models, density 0.5) on bf16'), 15, "a window pass counting each model's keys at and above its sampled cut, then the merge pass, each split over the threads after a sample on one thread"],
    ['DARE linear', ratio('DARE linear (3 models)'), 5, `its keep masks' counter hash (two rounds per float and model): ${split('DARE keep masks')}; and its bytes: 4 vectors read and one written, 2.5× a memcpy's (off the shared memory, staging adds ${x(staging)})`],
    ['model stock', ratio('model stock (3'), 5, `its six ordered f64 sums: ${split("model stock's sums")}; then a weighted sum of 4 vectors (off the shared memory, staging adds ${x(staging)})`],
    ['SLERP', ratio('SLERP (2'), 5, `its three ordered f64 sums: ${split("SLERP's sums")}; then a weighted sum of 2 vectors (off the shared memory, staging adds its copies)`],
  ];
  say('Against the goals (the fastest path of each row above, × memcpy; where a staged kernel misses its goal, what it cannot skip, from the rows above):');
  say();
  say('| kernel | × memcpy | goal | met | bound by |');
  say('|---|---|---|---|---|');
  for (const [kernel, value, goal, bound] of goals) {
    const met = value !== null && value <= goal;
    say(`| ${kernel} | ${x(value)} | ≤ ${goal}× | ${met ? 'yes' : 'no'} | ${met ? '' : bound} |`);
  }
  say();
  say('The ordered sums keep the TypeScript twins\' bits (four lanes within each 65,536-float chunk, the chunks\' partials added in order). Off the shared memory the staged kernels copy their inputs through the kernel\'s own memory in blocks; on the population\'s shared memory the chunks split over the threads and run in place, without copies. The "alone" rows run on one thread.');
  say();
}

/** The same kernels on the GPU population's path, against a GPU buffer copy of the same bytes. */
async function gpuKernels(tmp: string): Promise<void> {
  const gpu = await getNodeGpu();
  say('### 3. DE step and mergers on the GPU path');
  say();
  if (!gpu) {
    say('No WebGPU adapter in Node on this machine: not measured.');
    say();
    return;
  }
  const studio = await requestStudioDevice(gpu);
  const { device } = studio;
  const n = studio.isSoftware ? 4_000_000 : PAPER_FLOATS;
  const layout: ParameterLayout = { slots: [{ name: 'w', dims: [n], size: n, offset: 0, depth: 0, layer: 'w' }], totalSize: n };
  const base = randomVector(n, 1);
  const models = [2, 3, 4].map((seed) => randomVector(n, seed, base, 0.01));
  const done = () => device.queue.onSubmittedWorkDone();
  const copySrc = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const copyDst = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.COPY_DST });
  const copy = await time(async () => {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(copySrc, 0, copyDst, 0, n * 4);
    device.queue.submit([encoder.finish()]);
    await done();
  });
  const rows: [string, number][] = [];
  const trial = new GpuPopulation(device, layout, models, DEFAULT_MERGE, base);
  rows.push(['DE step (interpolation, CR 0.5, j_rand)', await time(async () => {
    trial.trial({ target: 0, base: 0, plus: 1, minus: 0 }, { f: 0.5, cr: 0.5, seed: 1, stream: 2, jRand: 5 });
    await done();
  })]);
  trial.dispose();
  for (const [label, method] of [['simple average (3 models)', 'average'], ['TIES (3 models, density 0.5, radix select)', 'ties'], ['DARE linear (3 models)', 'dare_linear']] as [string, MergeMethod][]) {
    const pop = new GpuPopulation(device, layout, models, benchParams(method), base);
    rows.push([label, await time(async () => {
      await pop.merge(null);
      await done();
    }, 3)]);
    pop.dispose();
  }
  copySrc.destroy();
  copyDst.destroy();
  const info = studio.adapterInfo;
  say(`Adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${studio.isSoftware ? ' — a software adapter: these are CPU-emulation timings, at 4M floats; only the ratios mean anything' : ''}. Copy of one ${(n * 4 / 1e6).toFixed(0)} MB buffer: ${copy.toFixed(1)} ms.`);
  say();
  say('| operation | ms | × buffer copy |');
  say('|---|---|---|');
  for (const [label, ms] of rows) say(`| ${label} | ${ms.toFixed(1)} | ${(ms / copy).toFixed(2)} |`);
  say();
  if (!studio.isSoftware) torchOnCuda(tmp, models);
  device.destroy();
}

/** The same DE step and a simple average in PyTorch on CUDA, when this machine has both. */
function torchOnCuda(tmp: string, models: Float32Array[]): void {
  const files = models.map((m, i) => {
    const file = path.join(tmp, `gpu-${i}.f32`);
    writeFileSync(file, new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
    return file;
  });
  try {
    const r = benchDe<{ de_ms: number; average_ms: number; memcpy_ms: number; version: string; device: string }>(['cuda', ...files]);
    say(`PyTorch ${r.version} on CUDA (${r.device}), the same vectors: DE step ${r.de_ms.toFixed(2)} ms, simple average of 3 ${r.average_ms.toFixed(2)} ms, device copy ${r.memcpy_ms.toFixed(2)} ms (${(r.de_ms / r.memcpy_ms).toFixed(2)}× and ${(r.average_ms / r.memcpy_ms).toFixed(2)}× its copy).`);
  } catch (err) {
    say(`PyTorch on CUDA: not measured (${failure(err)}).`);
  }
  say();
}

/** TIES' magnitude threshold by radix selection against a full sort of the magnitudes. */
async function tiesSelection(): Promise<void> {
  const n = PAPER_FLOATS;
  const base = randomVector(n, 1);
  const model = randomVector(n, 2, base, 0.01);
  say(`### 4. TIES threshold: radix selection vs a full sort (${(n / 1e6).toFixed(1)}M elements, density 0.5)`);
  say();
  const k = trimCount(0.5, n);
  const select = await time(() => topKMagnitudeCut(model, k, base), 3);
  const sortOnce = () => {
    const mags = Float32Array.from(model, (v, i) => Math.abs(v - base[i]!));
    mags.sort();
    return mags[n - k];
  };
  const sort = await time(sortOnce, 1);
  say(`| method | ms |\n|---|---|\n| radix select (3 histogram passes, no copy) | ${select.toFixed(0)} |\n| full sort of the magnitudes (Float32Array.prototype.sort, copy included) | ${sort.toFixed(0)} |`);
  say();
  say(`Selection is ${(sort / select).toFixed(1)}× faster than sorting.`);
  say();
}

async function scaling(): Promise<void> {
  say('### 5. Scaling: one generation of population work (DE step + merge per offspring, average merger, CPU, no evaluation)');
  say();
  const sampleSize = 233_186;
  const header = ['models \\ parameters', ...[1, 4, 16].map((m) => `${m}× (${((m * sampleSize) / 1e6).toFixed(2)}M)`)];
  say(`| ${header.join(' | ')} |`);
  say(`|${header.map(() => '---').join('|')}|`);
  for (const count of [2, 4, 8]) {
    const cells: string[] = [];
    for (const mult of [1, 4, 16]) {
      const size = sampleSize * mult;
      const layout: ParameterLayout = { slots: [{ name: 'w', dims: [size], size, offset: 0, depth: 0, layer: 'w' }], totalSize: size };
      const base = randomVector(size, 5);
      const flats = Array.from({ length: count }, (_, i) => randomVector(size, 10 + i, base, 0.01));
      const pop = new CpuPopulation(layout, flats, new CpuMerger(layout, DEFAULT_MERGE, null));
      const ms = await time(async () => {
        for (let t = 0; t < count; t++) {
          pop.trial({ target: t, base: t, plus: (t + 1) % count, minus: t }, { f: 0.5, cr: 0.5, seed: 3, stream: t + 1, jRand: t });
          await pop.merge(t);
        }
      }, 3);
      cells.push(`${ms.toFixed(1)} ms`);
    }
    say(`| ${count} | ${cells.join(' | ')} |`);
  }
  say();
  say('A whole generation on the sample (3 models, 233K parameters) is dominated by its 3 dev evaluations (section 1):');
  say('population work grows linearly in models × parameters and stays far below one evaluation at these sizes.');
  say();
}

/**
 * The evaluation runtime's goals (tools/bench-eval.ts, in a child process of its own: it sets
 * onnxruntime's threads for the process) on the classifier and the causal-LM samples, with 1
 * thread and the cores: one CLI dev evaluation over onnxruntime-node's own session.run, and time
 * per offspring over the evaluation it contains.
 */
function evaluationRuntime(): void {
  for (const sample of [[], ['--sample', 'lm']]) {
    try {
      const table = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tools', 'bench-eval.ts'), ...sample], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
      for (const line of table.trim().split('\n')) say(line);
      say();
    } catch (err) {
      say(`### Evaluation runtime${sample.length ? ' (lm sample)' : ''}`);
      say();
      say(`Not measured: ${failure(err)}`);
      say();
    }
  }
}

/** `--only stream|queue|kernels|gpu|eval` runs one section; `--out FILE` writes there instead of appending to BENCHMARKS.md. */
function flag(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}
const only = flag('only');
const outFlag = flag('out');
if (only !== null && !['stream', 'queue', 'kernels', 'gpu', 'eval'].includes(only)) throw new Error(`--only must be "stream", "queue", "kernels", "gpu" or "eval" (the sections that run alone); got "${only}".`);

async function main(): Promise<void> {
  const started = new Date();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-bench-'));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  say(`## Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  say();
  const sizes = process.env.EVOLVER_BENCH_STREAM_GB ? `EVOLVER_BENCH_STREAM_GB=${process.env.EVOLVER_BENCH_STREAM_GB} ` : '';
  const args = process.argv.slice(2).join(' ');
  say(`Command: \`${sizes}npm run bench${args ? ` -- ${args}` : ''}\` (node --import tsx tools/bench.ts). Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`);
  say(`Threads: sections 1–2 evaluate on ${cpuRuntimeName()} with ${ortThreads(1)} thread${ortThreads(1) === 1 ? '' : 's'}; the evaluation runtime's rows say their threads (1 and ${os.availableParallelism()}); every CPU kernel row runs on one thread unless it says its threads (the DE step and linear merges also on ${os.availableParallelism()}, the CLI's default --threads; the streaming rows say their --threads); the queue's workers run one thread each. V8 compiles the kernels with both wasm tiers (as the CLI on onnxruntime-node); section 1 runs last, its wasm on Liftoff (as the CLI on onnxruntime-web).`);
  say();
  try {
    if (only === null || only === 'stream') await streamMergeBench(say);
    if (only === null || only === 'queue') await queueBench(say);
    if (only === 'kernels') await kernels(tmp);
    if (only === 'gpu') await gpuKernels(tmp);
    if (only === null || only === 'eval') evaluationRuntime();
    if (only === null) {
      await kernels(tmp);
      await gpuKernels(tmp);
      await tiesSelection();
      await scaling();
      // Last: onnxruntime-web's wasm on Liftoff, as the CLI scores on it (both tiers would hold the run).
      keepWasmOnLiftoff();
      await overhead();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  // --out FILE: the section(s) to that file instead of BENCHMARKS.md (a partial run).
  const file = outFlag ?? path.join(ROOT, 'BENCHMARKS.md');
  if (!existsSync(file) && outFlag === null) writeFileSync(file, '# Benchmarks\n\nEach run of `npm run bench` appends a section; ratios are measured within one run. SwiftShader (software WebGPU) timings would be CPU emulation and are not reported as GPU speed.\n\n');
  if (outFlag !== null) writeFileSync(file, `${lines.join('\n')}\n`);
  else appendFileSync(file, `${lines.join('\n')}\n`);
  process.stderr.write(`appended to ${path.relative(ROOT, file)}\n`);
}

await main();
process.exit(0);
