/**
 * The CLI's evaluation runtimes agree: every checkpoint of every bundled sample
 * (public/samples and its sub-folders), on every dev set its manifest names (each a task:
 * classification, causal LM, multiple choice), scored on onnxruntime-node and on
 * onnxruntime-web's WASM gives the same metrics (counts exactly, means within
 * METRIC_TOLERANCE), and the classifier's logits of every dev row agree within
 * LOGIT_TOLERANCE. Also: the flags' checks and messages.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJsonlBytes } from '../src/eval/dataset';
import { cpuRuntimeName, setOrtThreads, useWebCpuRuntime, WeightFedSession } from '../src/eval/ort';
import { cudaProviderInstalled } from '../src/eval/ort-node';
import { loadTokenizer } from '../src/eval/tokenize';
import { getTask } from '../src/eval/tasks/registry';
import { datasetBatch } from '../src/eval/tasks/token-inputs';
import { readOnnx } from '../src/formats/onnx-read';
import { weightsToInputs } from '../src/formats/onnx-rewrite';
import { onnxFloatTensors } from '../src/merge/layout';
import { encodeRowsForModel, modelTask } from '../src/project/dataset-splits';
import { scoreWeights } from '../src/eval/score-checkpoint';
import { guessTask } from '../src/eval/tasks/guess-task';
import { hasSamples, sampleBytes, sampleManifest, SAMPLES } from '../src/testing/samples';
import type { Scores } from '../src/protocol/results';
import { UsageError } from './args';
import { applyRuntimeOptions } from './runtime-options';

/**
 * Largest |Δ| allowed between the two runtimes' logits. Both run MLAS kernels in float32, but
 * onnxruntime-node picks AVX2/AVX-512 GEMM and fused attention where the WASM build uses 128-bit
 * SIMD, so sums are ordered differently: measured on the sample's four checkpoints (588 rows),
 * |Δ| ≤ 1.8e-6 on logits up to |3.3|, about 8 float32 ulps; the bound leaves room for other CPUs
 * while staying far below any gap that could flip a prediction the sample cares about.
 */
const LOGIT_TOLERANCE = 1e-4;

/**
 * Relative difference allowed between the runtimes' metrics. Accuracy and F1 are ratios of
 * counts and come out equal; a causal LM's mean NLL sums float32 log-probabilities, measured
 * |Δ|/|NLL| ≈ 6e-9 on the LM sample. One flipped prediction moves a count metric by ≥ 1/250.
 */
const METRIC_TOLERANCE = 1e-6;

interface SampleCase {
  label: string;
  folder: string;
  model: string;
  dev: string;
  tokenizer: string;
}

/** Every (sample, dev set, checkpoint) the bundled samples list. */
function sampleCases(): SampleCase[] {
  if (!existsSync(SAMPLES)) return [];
  const folders = [SAMPLES, ...readdirSync(SAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(SAMPLES, d.name))];
  return folders.flatMap((folder) => {
    const file = path.join(folder, 'manifest.json');
    if (!existsSync(file)) return [];
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { tokenizer: string; dev: string; multipleChoice?: { dev: string }; models: { file: string }[] };
    const devs = [manifest.dev, manifest.multipleChoice?.dev].filter((d): d is string => typeof d === 'string');
    return devs.flatMap((dev) => manifest.models.map((m) => ({ label: `${path.relative(SAMPLES, folder) || '.'}/${m.file} on ${dev}`, folder, model: m.file, dev, tokenizer: manifest.tokenizer })));
  });
}

async function scoreSample(c: SampleCase): Promise<Scores> {
  const read = (name: string) => new Uint8Array(readFileSync(path.join(c.folder, name)));
  const bytes = read(c.model);
  const model = readOnnx(bytes, c.model);
  const rows = parseJsonlBytes(read(c.dev), c.dev);
  const task = guessTask(model, rows, c.model);
  const tokenizer = loadTokenizer(new TextDecoder().decode(read(c.tokenizer)), c.tokenizer);
  const dataset = encodeRowsForModel(rows, c.dev, { task, shape: task.modelShape(model, c.model) }, tokenizer);
  return scoreWeights(bytes, c.model, onnxFloatTensors(model).map((t) => ({ name: t.name, data: t.data })), dataset);
}

function expectSameMetrics(got: Record<string, number>, want: Record<string, number>, where: string): void {
  expect(Object.keys(got).sort(), where).toEqual(Object.keys(want).sort());
  for (const [key, value] of Object.entries(want)) {
    expect(Math.abs(got[key]! - value), `${where}: ${key} ${got[key]} vs ${value}`).toBeLessThanOrEqual(METRIC_TOLERANCE * Math.max(1, Math.abs(value)));
  }
}

/** The first output (the classifier's logits) for every dev row, in one run. */
async function logitsOf(modelName: string): Promise<Float32Array> {
  const manifest = sampleManifest();
  const bytes = sampleBytes(modelName);
  const model = readOnnx(bytes, modelName);
  const tokenizer = loadTokenizer(new TextDecoder().decode(sampleBytes(manifest.tokenizer)), manifest.tokenizer);
  const dataset = encodeRowsForModel(parseJsonlBytes(sampleBytes(manifest.dev), manifest.dev), manifest.dev, modelTask(model, modelName), tokenizer);
  const inits = onnxFloatTensors(model);
  const session = await WeightFedSession.create({
    modelBytes: weightsToInputs(bytes, new Set(inits.map((i) => i.name))),
    path: 'wasm',
    weights: inits.map((i) => ({ name: i.name, dims: i.dims })),
  });
  try {
    const weights = inits.map((i) => i.data);
    const inputs = getTask(dataset.task).buildInputs(session.dataInputNames, datasetBatch(dataset, 0, dataset.size), modelName);
    return await session.run(inputs, weights);
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

afterAll(() => {
  useWebCpuRuntime();
  setOrtThreads(null);
});

describe.skipIf(!hasSamples)('onnxruntime-node and onnxruntime-web give the classifier sample the same logits', () => {
  const models = hasSamples ? sampleManifest().models.map((m) => m.file) : [];

  it.each(models)('%s: logits within the tolerance', async (file) => {
    const applied = applyRuntimeOptions({ threads: '2' });
    expect(applied.fallbackReason).toBeUndefined();
    expect(cpuRuntimeName()).toBe('onnxruntime-node (cpu)');
    const native = await logitsOf(file);
    useWebCpuRuntime();
    expect(cpuRuntimeName()).toBe('onnxruntime-web (wasm)');
    const wasm = await logitsOf(file);
    expect(maxAbsDifference(native, wasm)).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    // The logits are not all alike: a broken feed (zeros, one row repeated) would also "agree".
    expect(new Set(Array.from(native, (v) => v.toFixed(3))).size).toBeGreaterThan(100);
  });
});

describe('every sample, every task: the same scores on both runtimes', () => {
  const cases = sampleCases();

  it.each(cases.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    applyRuntimeOptions({ threads: '1' });
    const native = await scoreSample(c);
    useWebCpuRuntime();
    const wasm = await scoreSample(c);
    expect(native.task).toBe(wasm.task);
    expect(native.size).toBe(wasm.size);
    expectSameMetrics(native.metrics, wasm.metrics, c.label);
    expect(native.byDomain.map((d) => [d.domain, d.size])).toEqual(wasm.byDomain.map((d) => [d.domain, d.size]));
    native.byDomain.forEach((d, i) => expectSameMetrics(d.metrics, wasm.byDomain[i]!.metrics, `${c.label}, ${d.domain}`));
  });
});

describe('the runtime flags', () => {
  it('refuses bad --threads and --runtime values, naming the flag', () => {
    expect(() => applyRuntimeOptions({ threads: '0' })).toThrow(/--threads must be a whole number ≥ 1/);
    expect(() => applyRuntimeOptions({ threads: 'many' })).toThrow(UsageError);
    expect(() => applyRuntimeOptions({ runtime: 'python' })).toThrow(/--runtime must be node or web; got "python"/);
    expect(() => applyRuntimeOptions({ runtime: 'web', device: 'gpu' }, { gpuEvaluation: true })).toThrow(/does not combine with --runtime web/);
  });

  it('selects the runtime and the thread count the flags name', () => {
    expect(applyRuntimeOptions({ threads: '3' }).description).toBe('onnxruntime-node (cpu), 3 threads');
    expect(applyRuntimeOptions({ threads: '1', runtime: 'web' }).description).toBe('onnxruntime-web (wasm), 1 thread');
    // --device gpu only means CUDA for commands that evaluate there (gpuEvaluation).
    expect(applyRuntimeOptions({ device: 'gpu', threads: '2' }).description).toBe('onnxruntime-node (cpu), 2 threads');
  });

  it.skipIf(cudaProviderInstalled())('says clearly that --device gpu has no CUDA provider here', () => {
    expect(() => applyRuntimeOptions({ device: 'gpu' }, { gpuEvaluation: true, command: 'eval' })).toThrow(/CUDA execution provider is not installed here.*docs\/gpu\.md/);
  });
});
