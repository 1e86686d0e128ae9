/**
 * `merge --config merge.yml --out DIR`: a mergekit YAML config run as it is. Model references
 * are local folders or files, relative to the config file. Each output tensor (slices.ts:
 * whole models, or stacked layer ranges renamed to their new indices) is merged on the CPU
 * by the registry's per-tensor merge with the config's parameters at that tensor
 * (mergekit-config-tensor.ts), or copied (passthrough); the result is written as mergekit
 * writes it (merge-output.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { exportMetadata } from '../src/export/export-metadata';
import type { FloatTensor } from '../src/merge/layout';
import { MergekitConfigError, parseMergekitConfig, referencedModels, type MergekitConfig } from '../src/merge/mergekit-config';
import { tensorMerge } from '../src/merge/mergekit-config-tensor';
import { layerCount, planSlices, planWholeModels, SliceError, type OutputTensor } from '../src/merge/slices';
import { readTensorCheckpointFiles, type TensorCheckpoint } from '../src/project/tensor-sets';
import type { SafetensorsWriteDtype } from '../src/protocol/files';
import { choiceOption, requireOption, stringOption, type Parsed } from './args';
import { InputError, readModelInput } from './io';
import { DEFAULT_SHARD_BYTES, modelFolder, parseShardSize, storedIntegerTensors, writeMergeOutput } from './merge-output';

interface LoadedRef {
  ref: string;
  file: string;
  checkpoint: TensorCheckpoint;
  byName: Map<string, FloatTensor>;
}

const TOKENIZER_ONLY: TensorCheckpoint = { name: '', format: 'safetensors', tensors: [], dtypes: new Map(), skipped: [], model: null, metadata: {} };

function loadRefs(config: MergekitConfig, dir: string): Map<string, LoadedRef> {
  const loaded = new Map<string, LoadedRef>();
  for (const ref of referencedModels(config)) {
    const file = path.resolve(dir, ref);
    const merged = ref === config.base || config.slices.some((s) => s.sources.some((src) => src.model === ref));
    if (!existsSync(file)) {
      throw new InputError(
        `${config.fileName}: model "${ref}" not found (looked for ${file}): model references must be local folders or files, relative to the config file; this CLI does not download from the Hugging Face Hub.`,
      );
    }
    // A tokenizer_source that is no merged model gives its tokenizer files only.
    const checkpoint = merged ? readTensorCheckpointFiles(readModelInput(file)) : TOKENIZER_ONLY;
    loaded.set(ref, { ref, file, checkpoint, byName: new Map(checkpoint.tensors.map((t) => [t.name, t])) });
  }
  return loaded;
}

/** The output tensors of the config, their layers filled in from the loaded models. */
function planOutputs(config: MergekitConfig, loaded: Map<string, LoadedRef>): OutputTensor[] {
  const names = (ref: string) => loaded.get(ref)!.checkpoint.tensors.map((t) => t.name);
  try {
    if (config.models) return planWholeModels(config.slices[0]!.sources.map((s) => s.model), names);
    return planSlices(config.slices, names);
  } catch (err) {
    if (err instanceof SliceError) throw new MergekitConfigError(config.fileName, err.message);
    throw err;
  }
}

/** The merged tensors of the config. */
export function runMergekitConfig(config: MergekitConfig, loaded: Map<string, LoadedRef>): FloatTensor[] {
  const outputs = planOutputs(config, loaded);
  const result: FloatTensor[] = [];
  let offset = 0;
  for (const o of outputs) {
    const inputs = o.inputs.map((i) => loaded.get(i.model)!.byName.get(i.tensor)!);
    const dims = inputs[0]!.dims;
    const odd = inputs.findIndex((t) => t.dims.join(',') !== dims.join(','));
    if (odd >= 0) throw new InputError(`${config.fileName}: tensor ${o.name}: ${o.inputs[odd]!.model} has shape [${inputs[odd]!.dims.join(', ')}], ${o.inputs[0]!.model} has [${dims.join(', ')}].`);
    const merge = tensorMerge(config, o);
    let data: Float32Array;
    if (config.method.kind === 'passthrough') {
      const src = inputs[0]!.data;
      data = merge.scale === 1 ? src : src.map((v) => v * merge.scale);
    } else {
      data = new Float32Array(inputs[0]!.data.length);
      config.method.method.cpu(
        { name: o.name, offset, dims, params: merge.params, models: merge.models.map((i) => inputs[i]!.data), base: merge.base === null ? null : inputs[merge.base]!.data, out: data },
        null,
      );
    }
    offset += data.length;
    result.push({ name: o.name, dims, data });
  }
  return result;
}

/** The dtype written: --dtype, else the config's out_dtype/dtype, else the first model's when all its tensors share one. */
function outputDtype(values: Parsed['values'], config: MergekitConfig, first: TensorCheckpoint): SafetensorsWriteDtype {
  if (stringOption(values, 'dtype') !== undefined) return choiceOption(values, 'dtype', ['F32', 'F16', 'BF16'] as const, 'F32');
  if (config.outDtype) return config.outDtype;
  const dtypes = new Set(first.dtypes.values());
  const only = dtypes.size === 1 ? [...dtypes][0] : undefined;
  return only === 'F16' || only === 'BF16' ? only : 'F32';
}

export async function mergeFromConfig(values: Parsed['values'], positionals: readonly string[]): Promise<number> {
  const configPath = requireOption(values, 'config');
  if (positionals.length > 0) throw new InputError(`--config takes its models from ${configPath}; remove the model arguments (${positionals.join(' ')}).`);
  for (const flag of ['method', 'base', 'weights', 'dev']) {
    if (stringOption(values, flag) !== undefined) throw new InputError(`--${flag} cannot be combined with --config: the config gives the method, models and parameters.`);
  }
  const out = requireOption(values, 'out');
  if (!existsSync(configPath)) throw new InputError(`${configPath}: no such file.`);
  const text = readFileSync(configPath, 'utf8');
  const config = parseMergekitConfig(text, path.basename(configPath));
  const loaded = loadRefs(config, path.dirname(path.resolve(configPath)));
  const tensors = runMergekitConfig(config, loaded);
  const firstRef = config.slices[0]!.sources[0]!.model;
  const first = loaded.get(firstRef)!;
  const dtype = outputDtype(values, config, first.checkpoint);
  const source = loaded.get(config.base ?? firstRef)!;
  const tokenizer = config.tokenizerSource === null || config.tokenizerSource === 'base' ? source : loaded.get(config.tokenizerSource)!;
  const inLayers = layerCount(source.checkpoint.tensors.map((t) => t.name));
  const outLayers = layerCount(tensors.map((t) => t.name));
  const models = [...new Set([...(config.base ? [config.base] : []), ...config.slices.flatMap((s) => s.sources.map((src) => src.model))])];
  const label = config.method.kind === 'passthrough' ? 'passthrough' : config.method.method.label;
  const metadata = exportMetadata({ recipe: { mergekit: text }, merger: `${label} (mergekit config ${config.fileName})`, sources: models, path: 'wasm' });
  const shardBytes = stringOption(values, 'out-shard-size') === undefined ? DEFAULT_SHARD_BYTES : parseShardSize(stringOption(values, 'out-shard-size')!);
  const line = writeMergeOutput(out, {
    tensors,
    // Integer tensors (position ids) come through from the base, else the first model, as mergekit copies them.
    raw: storedIntegerTensors(source.file),
    metadata,
    dtype,
    shardBytes,
    configFrom: modelFolder(source.file),
    tokenizerFrom: modelFolder(tokenizer.file),
    layers: outLayers !== inLayers ? outLayers : null,
    configYaml: text,
    card: { method: config.methodName, label, base: config.base, models },
  });
  process.stdout.write(`merged ${tensors.length} tensors from ${loaded.size} models with ${config.methodName} (${config.fileName}${outLayers !== inLayers ? `, ${outLayers} layers` : ''})\n${line}\n`);
  return 0;
}
