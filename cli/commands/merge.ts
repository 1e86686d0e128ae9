/**
 * `merge --method NAME ... --out OUT.safetensors MODEL...`, with mergekit's vocabulary.
 * Weight-only methods merge the tensors directly (ONNX or safetensors inputs, CPU or
 * WebGPU); data-aware ones (regmean, fisher), or any method given --dev, go through the
 * studio's engine on ONNX inputs and also report dev and held-out scores.
 */
import { MergeEngine } from '../../src/engine/engine';
import { exportMetadata } from '../../src/export/export-metadata';
import { assembleTensors } from '../../src/merge/layout';
import { DEFAULT_MERGE, type MergeMethod, type MergeParams } from '../../src/protocol/settings';
import { describeMerge, METHOD_INFO, methodProblem } from '../../src/merge/params';
import { readSafetensors, tensorToFloat32, writeSafetensors } from '../../src/formats/safetensors';
import { type SafetensorsWriteDtype } from '../../src/protocol/files';
import type { CommandSpec, Parsed } from '../args';
import { choiceOption, listOption, numberOption, requireOption, stringOption, UsageError } from '../args';
import { loadModels, populationOf } from '../checkpoints';
import { DEVICE_CHOICES, describeDevice, openDevice } from '../device';
import { formatTable, InputError, readInput, writeOutput } from '../io';
import { scoreRows } from './scores';

/** mergekit's method names → the studio's. */
export const MERGEKIT_METHODS: Record<string, MergeMethod> = {
  linear: 'average',
  task_arithmetic: 'task_arithmetic',
  ties: 'ties',
  dare_ties: 'dare_ties',
  dare_linear: 'dare_linear',
  slerp: 'slerp',
  model_stock: 'model_stock',
  regmean: 'regmean',
  fisher: 'fisher',
};

export const mergeSpec: CommandSpec = {
  name: 'merge',
  summary: 'Merges checkpoints of one architecture into one safetensors file (mergekit method names).',
  usage: 'merge --method NAME [--base FILE] [method options] --out OUT.safetensors MODEL MODEL...',
  help: [
    `  --method NAME           ${Object.keys(MERGEKIT_METHODS).join(', ')}`,
    '  --base FILE             the base (pre-trained) checkpoint: task_arithmetic, ties, dare_*, model_stock',
    '  --weights W1,W2,...     per-model weights, one per MODEL (linear, task_arithmetic, ties, dare_*; default equal)',
    '  --density D             fraction of each task vector kept, per tensor (ties, dare_*; default 0.5)',
    '  --lambda L              task-vector scale (task_arithmetic, ties, dare_*; default 1)',
    '  --t T                   SLERP interpolation factor (default 0.5)',
    '  --alpha A               RegMean off-diagonal shrink (default 0.9)',
    '  --seed S                DARE drop-mask seed (default 0)',
    '  --dev DEV.jsonl         dev set: needed by regmean and fisher; with it any method also reports scores',
    '  --tokenizer FILE        tokenizer.json for text rows',
    '  --heldout FILE          held-out rows, scored and reported only',
    '  --out FILE              the merged .safetensors (required)',
    '  --dtype F32|F16|BF16    output dtype (default F32)',
    '  --device cpu|gpu|auto   where weight-only merges run (default auto)',
  ].join('\n'),
  options: {
    method: { type: 'string' },
    base: { type: 'string' },
    weights: { type: 'string' },
    density: { type: 'string' },
    lambda: { type: 'string' },
    t: { type: 'string' },
    alpha: { type: 'string' },
    seed: { type: 'string' },
    dev: { type: 'string' },
    tokenizer: { type: 'string' },
    heldout: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
    device: { type: 'string' },
  },
};

/** Merger options from the flags; `--seed` is DARE's seed only where seedFlag says so (evolve's --seed seeds the run). */
export function mergeParamsFrom(values: Parsed['values'], method: MergeMethod, base: MergeParams = DEFAULT_MERGE, seedFlag = true): MergeParams {
  const params: MergeParams = {
    ...base,
    method,
    density: numberOption(values, 'density', base.density, { min: 0, max: 1 }),
    lambda: numberOption(values, 'lambda', base.lambda),
    t: numberOption(values, 't', base.t, { min: 0, max: 1 }),
    alpha: numberOption(values, 'alpha', base.alpha, { min: 0, max: 1 }),
    seed: seedFlag ? numberOption(values, 'seed', base.seed, { min: 0, max: 0xffffffff, integer: true }) : base.seed,
  };
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
  const methodName = requireOption(values, 'method');
  const method = MERGEKIT_METHODS[methodName];
  if (!method) throw new UsageError(`--method must be one of ${Object.keys(MERGEKIT_METHODS).join(', ')}; got "${methodName}".`, 'merge');
  const out = requireOption(values, 'out');
  const dtype = choiceOption(values, 'dtype', ['F32', 'F16', 'BF16'] as const, 'F32');
  const params = mergeParamsFrom(values, method);
  const baseFile = stringOption(values, 'base');
  const dev = stringOption(values, 'dev');
  if (METHOD_INFO[method].needsData && !dev) throw new UsageError(`--method ${methodName} needs --dev: its statistics come from dev data.`, 'merge');

  if (dev) {
    // Through the engine: the same code path, scores and export as the studio.
    const models = positionals.map(readInput);
    if (models.length < 2) throw new UsageError(`give at least 2 model files (got ${models.length}).`, 'merge');
    const nonOnnx = models.find((m) => !m.name.toLowerCase().endsWith('.onnx'));
    if (nonOnnx) throw new InputError(`${nonOnnx.name}: merging with --dev scores the result, which needs ONNX checkpoints (the graph); merge safetensors without --dev.`);
    const engine = new MergeEngine();
    await engine.init('wasm');
    const data = [dev, stringOption(values, 'tokenizer'), stringOption(values, 'heldout')].filter((f): f is string => f !== undefined).map(readInput);
    const base = baseFile ? [readInput(baseFile)] : [];
    const report = await engine.addFiles([...models, ...base, ...data]);
    if (report.problems.length > 0) throw new InputError(report.problems.map((p) => p.message).join('\n'));
    await engine.setBase(base[0]?.name ?? null);
    const result = await engine.merge(params, (e) => e.type === 'phase' && process.stderr.write(`${e.text}\n`));
    const exported = await engine.exportSafetensors();
    writeOutput(out, await reencode(exported.bytes, out, dtype));
    process.stdout.write(`${formatTable(scoreRows([...result.individuals, result.final]))}\nwrote ${out} (${dtype}, ${describeMerge(params)}, WASM path)\n`);
    return 0;
  }

  const loaded = loadModels(positionals, baseFile, 2);
  const problem = methodProblem(params, loaded.models.length, loaded.base !== null);
  if (problem) throw new UsageError(problem.replace('mark one as the base', 'give it with --base'), 'merge');
  const device = await openDevice(choiceOption(values, 'device', DEVICE_CHOICES, 'auto'));
  const store = populationOf(loaded, device, params);
  try {
    await store.merge(null);
    const merged = await store.read('merged');
    const tensors = assembleTensors(loaded.models[0]!.tensors, loaded.layout, merged);
    const sources = loaded.models.map((m) => m.name);
    const metadata = exportMetadata({ recipe: { strategy: 'merge', merger: params, base: loaded.base?.name ?? null, sources }, merger: describeMerge(params), sources, path: store.path });
    writeOutput(out, writeSafetensors(tensors.map((t) => ({ name: t.name, shape: t.dims, data: t.data })), metadata, dtype));
    process.stdout.write(`merged ${loaded.models.length} models (${loaded.layout.slots.length} of ${tensors.length} tensors differ) with ${describeMerge(params)} on ${describeDevice(device)}\nwrote ${out} (${dtype})\n`);
    return 0;
  } finally {
    store.dispose();
    device?.device.destroy();
  }
}
