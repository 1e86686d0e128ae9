/**
 * `merge --method NAME ... --out OUT.safetensors MODEL...`, with mergekit's vocabulary;
 * the methods, their flags and this help come from the merge-method registry.
 * Weight-only methods merge the tensors directly (ONNX or safetensors inputs, CPU or
 * WebGPU) through the engine's population and merger (make-population.ts) and write the
 * studio's recipe and metadata; data-aware ones (regmean, fisher), or any method given
 * --dev, go through the studio's engine on ONNX inputs and also report dev and held-out scores.
 */
import { MergeEngine } from '../../src/engine/engine';
import { exportMetadata } from '../../src/export/export-metadata';
import { assembleTensors } from '../../src/merge/layout';
import { DEFAULT_MERGE, DEFAULT_SETTINGS, type MergeParams } from '../../src/protocol/settings';
import { describeMerge, methodProblem } from '../../src/merge/params';
import type { MergeMethodDef, OptionSpec, ParamSpec } from '../../src/merge/method';
import { allParamSpecs, findMethod, MERGE_METHODS, methodNames, withMethod } from '../../src/merge/registry';
import { readSafetensors } from '../../src/formats/safetensors-read';
import { tensorToFloat32 } from '../../src/formats/safetensors-float';
import { writeSafetensors } from '../../src/formats/safetensors-write';
import { type SafetensorsWriteDtype } from '../../src/protocol/files';
import type { CommandSpec, Options, Parsed } from '../args';
import { choiceOption, listOption, numberOption, requireOption, stringOption, UsageError } from '../args';
import { loadModels, mergedSafetensors, methodInputs, populationOf } from '../checkpoints';
import { DEVICE_CHOICES, describeDevice, openDevice } from '../device';
import type { StudioDevice } from '../../src/gpu/device';
import { GpuTensorMergePool } from '../../src/population/gpu-tensor-pool';
import { floatEntries } from '../../src/formats/safetensors-source';
import { formatTable, InputError, readInput, writeOutput } from '../io';
import { scoreRows } from './scores';
import { applyRuntimeOptions, runtimeHelpWithoutThreads, runtimeOptions } from '../runtime-options';
import { engineTaskOptions, taskHelp, taskOptions } from '../task-option';
import { mergeFromConfig } from '../merge-config';
import { isFolderOut, writeFlagMergeFolder } from '../merge-output';
import { OpenFiles, openStreamCheckpoint, type StreamCheckpoint } from '../file-source';
import { checkSameSourceTensors, streamMergeMetadata } from '../../src/engine/stream-merge';
import { streamMergeToOutput } from '../stream-merge-run';
import { baseAsModel } from '../../src/merge/base-as-model';

/** The method a --method / --merger name means (ids and aliases), or a usage error listing them. */
export function methodFromFlag(name: string, flag: string, command: string): MergeMethodDef {
  const method = findMethod(name);
  if (!method) throw new UsageError(`--${flag} must be one of ${methodNames().join(', ')}; got "${name}".`, command);
  return method;
}

/** The methods for --help: each id, with its aliases. */
export function methodChoicesHelp(): string {
  return MERGE_METHODS.map((m) => (m.aliases.length > 0 ? `${m.id} (or ${m.aliases.join(', ')})` : m.id)).join(', ');
}

/** Each switch or choice any method declares, with its first declaration (the CLI's flags). */
export function allOptionSpecs(): OptionSpec[] {
  const seen = new Map<string, OptionSpec>();
  for (const m of MERGE_METHODS) for (const o of m.options ?? []) if (!seen.has(o.key)) seen.set(o.key, o);
  return [...seen.values()];
}

/** parseArgs options for every declared merger parameter, switch and choice (seedFlag: whether --seed is the merger's). */
export function mergerOptions(seedFlag = true): Options {
  const keys = [...allParamSpecs().filter((p) => seedFlag || p.key !== 'seed').map((p) => p.key as string), ...allOptionSpecs().map((o) => o.key), 'densities'];
  return Object.fromEntries(keys.map((k) => [k, { type: 'string' as const }]));
}

/** --help lines for the switches and choices: which methods read each, its values and default(s). */
function optionHelp(): string[] {
  const lines = allOptionSpecs().map((spec) => {
    const users = MERGE_METHODS.filter((m) => m.options?.some((o) => o.key === spec.key));
    const defaults = new Map<string, string[]>();
    for (const m of users) {
      const d = String(m.options!.find((o) => o.key === spec.key)!.default);
      defaults.set(d, [...(defaults.get(d) ?? []), m.id]);
    }
    const byDefault = [...defaults].map(([d, ids], i) => (i === 0 && defaults.size === 1 ? d : `${ids.join(', ')}: ${d}`)).join('; ');
    const values = spec.type === 'boolean' ? 'true|false' : spec.choices.join('|');
    return `  ${`--${spec.key} ${values}`.padEnd(23)} ${spec.help} (${users.map((m) => m.id).join(', ')}; default ${byDefault})`;
  });
  const perModel = MERGE_METHODS.filter((m) => m.perModelDensity).map((m) => m.id);
  return [...lines, `  ${'--densities D1,D2,...'.padEnd(24)}per-model density, one per MODEL, instead of --density (${perModel.join(', ')})`];
}

function optionFrom(values: Parsed['values'], spec: OptionSpec): boolean | string | undefined {
  const raw = values[spec.key];
  if (typeof raw !== 'string') return undefined;
  if (spec.type === 'boolean') {
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new UsageError(`--${spec.key} must be true or false; got "${raw}".`);
  }
  if (!spec.choices.includes(raw)) throw new UsageError(`--${spec.key} must be one of ${spec.choices.join(', ')}; got "${raw}".`);
  return raw;
}

/** --help lines for the merger parameters: which methods read each, its range and default(s). */
export function mergerHelp(seedFlag = true): string[] {
  return allParamSpecs()
    .filter((p) => seedFlag || p.key !== 'seed')
    .map((spec) => {
      const users = MERGE_METHODS.filter((m) => m.params.some((p) => p.key === spec.key));
      const defaults = new Map<number, string[]>();
      for (const m of users) {
        const d = m.params.find((p) => p.key === spec.key)!.default;
        defaults.set(d, [...(defaults.get(d) ?? []), m.id]);
      }
      const byDefault = [...defaults].map(([d, ids], i) => (i === 0 ? `${d}` : `${ids.join(', ')}: ${d}`)).join('; ');
      const flag = `--${spec.key} ${spec.key.slice(0, 1).toUpperCase()}`.padEnd(24);
      return `  ${flag}${spec.help} [${spec.min}, ${spec.max}] (${users.map((m) => m.id).join(', ')}; default ${byDefault})`;
    })
    .concat(optionHelp());
}

/** The range a flag is checked against: the chosen method's declaration, else the first one. */
function specFor(method: MergeMethodDef, spec: ParamSpec): ParamSpec {
  return method.params.find((p) => p.key === spec.key) ?? spec;
}

export const mergeSpec: CommandSpec = {
  name: 'merge',
  summary: 'Merges checkpoints of one architecture into one safetensors file (mergekit method names).',
  usage: 'merge --method NAME [--base FILE] [method options] --out OUT.safetensors|DIR MODEL MODEL...\n       evolver-studio merge --config MERGE.yml --out DIR|OUT.safetensors (a mergekit config)',
  help: [
    `  --method NAME           ${methodChoicesHelp()}`,
    `  --base FILE             the base (pre-trained) checkpoint: ${MERGE_METHODS.filter((m) => m.needs.base).map((m) => m.id).join(', ')}`,
    `  --weights W1,W2,...     per-model weights, one per MODEL (${MERGE_METHODS.filter((m) => m.weighted).map((m) => m.id).join(', ')}; default equal)`,
    ...mergerHelp(),
    `  --dev DEV.jsonl         dev set: needed by ${MERGE_METHODS.filter((m) => m.needs.devData).map((m) => m.id).join(' and ')}; with it any method also reports scores`,
    '  --tokenizer FILE        tokenizer.json for text rows',
    '  --heldout FILE          held-out rows, scored and reported only',
    '  --out FILE|DIR          the merged .safetensors, or (a path without .safetensors) a folder as mergekit writes it: shards, index, config.json, tokenizer, README.md, mergekit_config.yml (required)',
    '  --out-shard-size SIZE   largest shard of a --out folder: 5B, 500M, 64K or bytes (default 5B, as mergekit)',
    '  --config MERGE.yml      run a mergekit YAML config (models, base_model, merge_method, parameters, slices, dtype; model paths relative to it) instead of --method and MODEL arguments',
    "  --dtype F32|F16|BF16    output dtype (default: each tensor's input dtype, as mergekit; F32 with --dev)",
    '  --device cpu|gpu|auto   where weight-only merges run (default auto: the CPU when streaming); safetensors inputs stream tensor by tensor, and with gpu each whole tensor merges on the GPU, two in flight',
    '  --in-memory             load every model whole (the population path) instead of streaming safetensors tensor by tensor',
    '  --threads N             worker threads merging whole tensors while streaming (default 1; each holds one more tensor set)',
    ...runtimeHelpWithoutThreads,
    ...taskHelp.map((line) => `${line} (with --dev)`),
  ].join('\n'),
  options: {
    method: { type: 'string' },
    base: { type: 'string' },
    weights: { type: 'string' },
    ...mergerOptions(),
    dev: { type: 'string' },
    tokenizer: { type: 'string' },
    heldout: { type: 'string' },
    out: { type: 'string' },
    'out-shard-size': { type: 'string' },
    config: { type: 'string' },
    dtype: { type: 'string' },
    device: { type: 'string' },
    'in-memory': { type: 'boolean' },
    threads: { type: 'string' },
    ...runtimeOptions,
    ...taskOptions,
  },
};

/**
 * Merger options from the flags, over `base` switched to `method` (values base's method did
 * not read take the new method's defaults); `--seed` is DARE's seed only where seedFlag says
 * so (evolve's --seed seeds the run).
 */
export function mergeParamsFrom(values: Parsed['values'], method: MergeMethodDef, base: MergeParams = DEFAULT_MERGE, seedFlag = true): MergeParams {
  const params = withMethod({ ...DEFAULT_MERGE, ...base }, method.id) as MergeParams & Record<string, number>;
  for (const first of allParamSpecs()) {
    if (!seedFlag && first.key === 'seed') continue;
    const spec = specFor(method, first);
    params[spec.key] = numberOption(values, spec.key, params[spec.key] ?? spec.default, { min: spec.min, max: spec.max, integer: spec.type !== 'number' });
  }
  const stored = params as unknown as Record<string, unknown>;
  for (const first of allOptionSpecs()) {
    const spec = method.options?.find((o) => o.key === first.key) ?? first;
    const value = optionFrom(values, spec);
    if (value !== undefined) stored[spec.key] = value;
  }
  const densities = listOption(values, 'densities');
  if (densities) stored.densities = densities;
  const weights = listOption(values, 'weights');
  if (weights) params.weights = weights;
  return params;
}

async function reencode(bytes: Uint8Array, name: string, dtype: SafetensorsWriteDtype): Promise<Uint8Array> {
  if (dtype === 'F32') return bytes;
  const file = readSafetensors(bytes, name);
  return writeSafetensors(file.tensors.map((t) => ({ name: t.name, shape: t.shape, data: tensorToFloat32(t) })), file.metadata, dtype);
}

export async function merge({ values, positionals }: Parsed): Promise<number> {
  if (stringOption(values, 'config') !== undefined) return mergeFromConfig(values, positionals);
  const methodName = requireOption(values, 'method');
  const method = methodFromFlag(methodName, 'method', 'merge');
  const out = requireOption(values, 'out');
  const dtypeFlag = stringOption(values, 'dtype') === undefined ? null : choiceOption(values, 'dtype', ['F32', 'F16', 'BF16'] as const, 'F32');
  const dtype = dtypeFlag ?? 'F32';
  const params = mergeParamsFrom(values, method);
  const baseFile = stringOption(values, 'base');
  const dev = stringOption(values, 'dev');
  if (method.needs.devData && !dev) throw new UsageError(`--method ${methodName} needs --dev: its statistics come from dev data.`, 'merge');

  if (dev) {
    // Through the engine: the same code path, scores and export as the studio.
    applyRuntimeOptions(values, { command: 'merge' });
    const models = positionals.map(readInput);
    if (models.length < 2) throw new UsageError(`give at least 2 model files (got ${models.length}).`, 'merge');
    const nonOnnx = models.find((m) => !m.name.toLowerCase().endsWith('.onnx'));
    if (nonOnnx) throw new InputError(`${nonOnnx.name}: merging with --dev scores the result, which needs ONNX checkpoints (the graph); merge safetensors without --dev.`);
    const engine = new MergeEngine();
    await engine.init('wasm');
    const data = [dev, stringOption(values, 'tokenizer'), stringOption(values, 'heldout')].filter((f): f is string => f !== undefined).map(readInput);
    const base = baseFile ? [readInput(baseFile)] : [];
    const labelFile = await engineTaskOptions(engine, values, 'merge');
    const report = await engine.addFiles([...models, ...base, ...data, ...labelFile]);
    if (report.problems.length > 0) throw new InputError(report.problems.map((p) => p.message).join('\n'));
    await engine.setBase(base[0]?.name ?? null);
    const result = await engine.merge(params, (e) => e.type === 'phase' && process.stderr.write(`${e.text}\n`));
    const exported = await engine.exportSafetensors();
    writeOutput(out, await reencode(exported.bytes, out, dtype));
    process.stdout.write(`${formatTable(scoreRows([...result.individuals, result.final]))}\nwrote ${out} (${dtype}, ${describeMerge(params)}, WASM path)\n`);
    return 0;
  }

  const deviceChoice = choiceOption(values, 'device', DEVICE_CHOICES, 'auto');
  if (values['in-memory'] !== true) {
    const threads = numberOption(values, 'threads', 1, { min: 1, max: 64, integer: true });
    if (deviceChoice === 'gpu' && values.threads !== undefined) throw new UsageError('--threads merges whole tensors on CPU worker threads; with --device gpu they merge on the GPU: give one or the other.', 'merge');
    const streamed = await streamedMerge({ positionals, baseFile, method, params, out, dtypeFlag, shardSize: stringOption(values, 'out-shard-size'), threads, gpu: deviceChoice === 'gpu' });
    if (streamed !== null) return streamed;
  }

  // With a base one model may do (task arithmetic scaling or negating one task vector).
  const given = loadModels(positionals, baseFile, baseFile ? 1 : 2);
  // SLERP and linear read a given base as one of their models (mergekit's base_model).
  const { loaded, params: merging } = methodInputs(given, method, params);
  const problem = methodProblem(merging, loaded.models.length, loaded.base !== null);
  if (problem) throw new UsageError(problem.replace('mark one as the base', 'give it with --base'), 'merge');
  const device = await openDevice(deviceChoice);
  const store = populationOf(loaded, device, merging);
  try {
    await store.merge(null);
    const merged = await store.read('merged');
    const tensors = assembleTensors(given.models[0]!.tensors, loaded.layout, merged);
    const sources = given.models.map((m) => m.name);
    // The studio's one-shot merge recipe and metadata (result-export.ts): the settings with this
    // merger, strategy "merge", the base and the sources; no scores without --dev.
    const recipe = { ...DEFAULT_SETTINGS, merger: params, strategy: 'merge', base: given.base?.name ?? null, sources };
    const metadata = exportMetadata({ recipe, merger: describeMerge(params), sources, path: store.path, extra: { seed: String(DEFAULT_SETTINGS.seed) } });
    if (isFolderOut(out)) {
      const folder = { tensors, metadata, dtype: dtypeFlag, sourceDtypes: given.models[0]!.dtypes.values(), shardSize: stringOption(values, 'out-shard-size'), params, models: positionals, base: baseFile ?? null };
      process.stdout.write(`merged ${loaded.models.length} models with ${describeMerge(merging)} on ${describeDevice(device)}\n${writeFlagMergeFolder(out, folder)}\n`);
      return 0;
    }
    writeOutput(out, mergedSafetensors({ ...given, layout: loaded.layout }, merged, metadata, dtypeFlag));
    const kept = (given.base ?? given.models[0]!).raw?.length ?? 0;
    process.stdout.write(
      `merged ${loaded.models.length} models (${loaded.layout.slots.length} of ${tensors.length} tensors differ) with ${describeMerge(merging)} on ${describeDevice(device)}\nwrote ${out} (${dtypeFlag ?? 'input dtypes'}${kept > 0 ? `, ${kept} integer tensor${kept > 1 ? 's' : ''} copied` : ''})\n`,
    );
    return 0;
  } finally {
    store.dispose();
    device?.device.destroy();
  }
}

interface StreamedMergeArgs {
  positionals: readonly string[];
  baseFile: string | undefined;
  method: MergeMethodDef;
  params: MergeParams;
  out: string;
  dtypeFlag: SafetensorsWriteDtype | null;
  shardSize: string | undefined;
  threads: number;
  /** --device gpu: whole tensors merge on the GPU (a method without a GPU merger says so and stays on the CPU). */
  gpu: boolean;
}

/**
 * The merge streamed tensor by tensor from safetensors files (stream-merge-run.ts), with the
 * in-memory path's checks, recipe and metadata; null when some model is not safetensors only.
 */
async function streamedMerge(a: StreamedMergeArgs): Promise<number | null> {
  const minModels = a.baseFile ? 1 : 2;
  if (a.positionals.length < minModels) throw new UsageError(`give at least ${minModels} model file${minModels > 1 ? 's' : ''} (got ${a.positionals.length}).`);
  const files = new OpenFiles();
  let gpuPool: GpuTensorMergePool | null = null;
  let device: StudioDevice | null = null;
  try {
    const opened = await Promise.all([...a.positionals, ...(a.baseFile ? [a.baseFile] : [])].map((arg) => openStreamCheckpoint(arg, files)));
    if (opened.some((c) => c === null)) return null;
    const all = opened as StreamCheckpoint[];
    checkSameSourceTensors(all.map((c) => c.source));
    const models = all.slice(0, a.positionals.length);
    const base = a.baseFile ? all[all.length - 1]! : null;
    const merging = baseAsModel(models, base, a.method, a.params);
    const problem = methodProblem(merging.params, merging.models.length, merging.base !== null);
    if (problem) throw new UsageError(problem.replace('mark one as the base', 'give it with --base'), 'merge');
    device = a.gpu ? await openDevice('gpu') : null;
    const tensors = floatEntries(models[0]!.source).map((t) => ({ name: t.name, dims: t.shape }));
    gpuPool = device ? GpuTensorMergePool.create(device.device, merging.params, tensors, merging.models.length) : null;
    const where = !device ? 'CPU' : gpuPool ? describeDevice(device) : `CPU (${a.method.label} has no GPU merger for these tensors)`;
    // The studio's merge to file writes the same recipe and metadata (src/engine/stream-merge.ts).
    const metadata = streamMergeMetadata(a.params, models.map((m) => m.source.name), base?.source.name ?? null, gpuPool ? 'webgpu' : 'wasm');
    const { summary, line } = await streamMergeToOutput({
      out: a.out,
      folder: isFolderOut(a.out),
      models,
      base,
      method: a.method,
      params: a.params,
      dtypeFlag: a.dtypeFlag,
      metadata,
      shardSize: a.shardSize,
      modelArgs: a.positionals,
      baseArg: a.baseFile ?? null,
      threads: a.threads,
      gpuPool: gpuPool ?? undefined,
    });
    const bands = summary.chunked > 0 ? `, ${summary.chunked} in row bands` : '';
    // On the CPU besides: row bands, the bfloat16 one-pass kernel, tensors past the device's largest buffer.
    const onCpu = gpuPool ? summary.merged - gpuPool.counts.gpu : 0;
    const onGpu = gpuPool ? ` (${gpuPool.counts.gpu} merged on the GPU${onCpu > 0 ? `, ${onCpu} on the CPU` : ''})` : '';
    process.stdout.write(`merged ${merging.models.length} models (${summary.merged} of ${summary.tensors} tensors differ${onGpu}) with ${describeMerge(merging.params)} on ${where}, streamed tensor by tensor${bands}\n${line}\n`);
    return 0;
  } finally {
    gpuPool?.close();
    device?.device.destroy();
    await files.closeAll();
  }
}
