/**
 * `node --import tsx tools/bench-eval.ts [--sample lm] [THREADS...]`: the evaluation
 * runtime's goals on a bundled sample (default the classifier, 588 dev rows; `--sample lm` the
 * language models), per thread count (default: 1 and the cores):
 *
 * 1. One dev evaluation as the CLI runs it (DatasetEvaluator over a WeightFedSession: weights
 *    fed as inputs, batches of 128, the task's scoring) over onnxruntime-node's own
 *    InferenceSession.run on the graph with its weights in it (the task's scoring graph: as
 *    exported for a classifier, with the log-likelihood head for a causal LM), same rows, same
 *    batches. Goal ≤ 1.2.
 * 2. Time per offspring of an Evolver run (DE step + merge + dev evaluation) over the dev
 *    evaluation it contains, with and without merger, on onnxruntime-node, with the population
 *    the engine makes (make-population.ts). Goal ≤ 1.10.
 * 3. For scale: the same dev evaluation on onnxruntime-web's WASM (1 thread).
 *
 * Prints a Markdown table; medians of several runs after a warm-up.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CpuMerger } from '../src/merge/cpu-merger';
import { CpuPopulation } from '../src/population/cpu-population';
import { mergePopulation } from '../src/population/make-population';
import { runEvolver } from '../src/search/evolver';
import { flattenParameters, mergedLayout } from '../src/merge/layout';
import { DEFAULT_MERGE, DEFAULT_SETTINGS, type EvolverSettings } from '../src/protocol/settings';
import { Workspace } from '../src/project/workspace';
import { DatasetEvaluator, scoringGraph } from '../src/eval/evaluator';
import { cpuRuntimeName, setOrtThreads, useWebCpuRuntime, WeightFedSession } from '../src/eval/ort';
import { keepWasmOnLiftoff } from '../cli/wasm-tiering';
import { registerNodeRuntime } from '../src/eval/ort-node';
import { getTask } from '../src/eval/tasks/registry';
import { datasetBatch } from '../src/eval/tasks/token-inputs';
import { weightsToInputs } from '../src/formats/onnx-rewrite';
import { sampleFiles, SAMPLES } from '../src/testing/samples';
import { median, samplesOf } from './timing';

const BATCH = 128;

interface OrtNode {
  InferenceSession: { create(bytes: Uint8Array, options: object): Promise<{ run(feeds: object): Promise<Record<string, { data: unknown; dispose?: () => void }>>; release(): Promise<void> }> };
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => object;
}

async function time(fn: () => Promise<unknown>, runs = 7): Promise<number> {
  return median(await samplesOf(fn, runs));
}

/**
 * Medians of a and b run alternately (a, b, a, b, …): on a shared machine both see the same
 * background load, so their ratio holds where absolute times drift.
 */
async function interleaved(a: () => Promise<unknown>, b: () => Promise<unknown>, runs: number): Promise<[number, number]> {
  await a();
  await b();
  const [sa, sb]: number[][] = [[], []];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await a();
    sa.push(performance.now() - t);
    t = performance.now();
    await b();
    sb.push(performance.now() - t);
  }
  return [median(sa), median(sb)];
}

// `--sample lm` (or any folder under public/samples with a manifest) instead of the classifier sample.
const sampleFlag = process.argv.indexOf('--sample');
const sampleFolder = sampleFlag >= 0 ? path.join(SAMPLES, process.argv[sampleFlag + 1] ?? '') : SAMPLES;
function folderFiles(folder: string): { name: string; bytes: Uint8Array }[] {
  if (folder === SAMPLES) return sampleFiles();
  const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { tokenizer: string; dev: string; heldout: string; models: { file: string; role: string }[] };
  const names = ['manifest.json', manifest.tokenizer, manifest.dev, manifest.heldout, ...manifest.models.filter((m) => m.role !== 'base').map((m) => m.file)];
  return names.map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(folder, name))) }));
}
const ws = new Workspace();
const report = ws.addFiles(folderFiles(sampleFolder));
if (report.problems.length > 0) throw new Error(report.problems.map((p) => p.message).join('; '));
const members = ws.population();
const layout = mergedLayout(members.map((m) => m.model));
const flats = members.map((m) => flattenParameters(m.model, layout));
const dataset = ws.splits().dev;
const specs = layout.slots.map((s) => ({ name: s.name, dims: s.dims }));
// The graph as the task scores it (a causal LM gets its log-likelihood head), weights as inputs.
const scoredBytes = scoringGraph(dataset.task, members[0]!.bytes, members[0]!.name);
const fedBytes = weightsToInputs(scoredBytes, new Set(layout.slots.map((s) => s.name)));

async function cliSession(): Promise<{ session: WeightFedSession; dev: DatasetEvaluator }> {
  const session = await WeightFedSession.create({ modelBytes: fedBytes, path: 'wasm', weights: specs });
  return { session, dev: new DatasetEvaluator(session, dataset) };
}

/** onnxruntime-node's own loop: the graph as exported, int64 tensors per batch, nothing else. */
async function rawNodeLoop(threads: number, dataInputs: readonly string[]): Promise<{ run: () => Promise<void>; release: () => Promise<void> }> {
  const ortNode = createRequire(import.meta.url)('onnxruntime-node') as OrtNode;
  const session = await ortNode.InferenceSession.create(scoredBytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const task = getTask(dataset.task);
  const batches: Record<string, object>[] = [];
  for (let start = 0; start < dataset.size; start += BATCH) {
    const inputs = task.buildInputs(dataInputs, datasetBatch(dataset, start, Math.min(BATCH, dataset.size - start)), 'bench');
    batches.push(Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, new ortNode.Tensor('int64', v.data, v.dims)])));
  }
  return {
    run: async () => {
      for (const feeds of batches) await session.run(feeds);
    },
    release: () => session.release(),
  };
}

/**
 * Time per offspring (trial, merge, evaluation, bookkeeping): the gaps between consecutive
 * offspring events within a generation (a generation's first offspring also carries the
 * generation's record, and without merger the chart's merge score: left out), paired with the
 * dev evaluations inside each gap. The ratio Σ gaps / Σ their evaluations is the overhead under
 * the very same load, which a shared machine would otherwise blur.
 */
async function perOffspringMs(dev: DatasetEvaluator, settings: EvolverSettings): Promise<{ gap: number; ratio: number }> {
  const population = mergePopulation({ device: null, layout, flats, base: null, params: settings.merger });
  const gaps: number[] = [];
  let gapSum = 0;
  let evalSum = 0;
  let evalSinceLast = 0;
  let last = 0;
  await runEvolver(population, settings, {
    score: async (set) => {
      const t = performance.now();
      const fitness = await dev.fitness(population.handles(set));
      evalSinceLast += performance.now() - t;
      return fitness;
    },
    onProgress: (e) => {
      if (e.type === 'generation') last = 0;
      if (e.type !== 'offspring') return;
      const now = performance.now();
      if (last > 0) {
        gaps.push(now - last);
        gapSum += now - last;
        evalSum += evalSinceLast;
      }
      evalSinceLast = 0;
      last = now;
    },
  });
  population.dispose();
  return { gap: median(gaps), ratio: gapSum / evalSum };
}

/** "median gap ms (Σ gaps / Σ their evaluations)". */
const offspringCell = ({ gap, ratio }: { gap: number; ratio: number }) => `${gap.toFixed(1)} (${ratio.toFixed(3)})`;

const requested = process.argv.slice(2).filter((_, i, all) => all[i - 1] !== '--sample').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const threadCounts = requested.length > 0 ? requested : [...new Set([1, os.availableParallelism()])];
const rows: string[] = [];
for (const threads of threadCounts) {
  setOrtThreads(threads);
  const loaded = registerNodeRuntime();
  if (loaded.fallbackReason) throw new Error(loaded.fallbackReason);
  const { session, dev } = await cliSession();
  // The data inputs (what the task feeds from the dev set) as the CLI's session names them.
  const rawLoop = await rawNodeLoop(threads, session.dataInputNames);
  const fixed = new CpuPopulation(layout, flats, new CpuMerger(layout, DEFAULT_MERGE, null));
  const [raw, plain] = await interleaved(rawLoop.run, () => dev.score(fixed.handles(0)), 11);
  await rawLoop.release();
  const merged = await perOffspringMs(dev, { ...DEFAULT_SETTINGS, generations: 4 });
  const individual = await perOffspringMs(dev, { ...DEFAULT_SETTINGS, generations: 4, mode: 'individual' });
  await session.release();
  rows.push(
    `| ${cpuRuntimeName()}, ${threads} thread${threads > 1 ? 's' : ''} | ${raw.toFixed(1)} | ${plain.toFixed(1)} | ${(plain / raw).toFixed(3)} | ${offspringCell(merged)} | ${offspringCell(individual)} |`,
  );
  process.stderr.write(`${rows.at(-1)}\n`);
}

setOrtThreads(1);
// As the CLI on onnxruntime-web: its wasm on Liftoff (cli/wasm-tiering.ts); the rows above ran with both tiers.
keepWasmOnLiftoff();
useWebCpuRuntime();
const { session: webSession, dev: webDev } = await cliSession();
const webFixed = new CpuPopulation(layout, flats, new CpuMerger(layout, DEFAULT_MERGE, null));
const web = await time(() => webDev.score(webFixed.handles(0)), 3);
await webSession.release();

process.stdout.write(`\n### Evaluation runtime (${path.relative(SAMPLES, sampleFolder) || 'classifier'} sample, ${dataset.task}, ${dataset.size} dev rows, batches of ${BATCH}; ${os.cpus()[0]?.model ?? 'CPU'}, ${os.availableParallelism()} cores, load average ${os.loadavg()[0]!.toFixed(1)})\n\n`);
process.stdout.write('Medians; the two evaluations run alternately, so they share the background load. Per offspring: the median gap between offspring events, and Σ gaps / Σ the dev evaluations inside them.\n\n');
process.stdout.write('| runtime | onnxruntime-node session.run, same rows (ms) | CLI dev evaluation (ms) | ratio (goal ≤ 1.2) | per offspring, with merger (ms, ratio; goal ≤ 1.10) | per offspring, without merger (ms, ratio) |\n|---|---|---|---|---|---|\n');
process.stdout.write(`${rows.join('\n')}\n| ${cpuRuntimeName()}, 1 thread | | ${web.toFixed(1)} | | | |\n`);
process.exit(0);
