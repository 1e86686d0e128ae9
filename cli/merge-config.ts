/**
 * `merge --config merge.yml --out DIR`: a mergekit YAML config run as it is. Model references
 * are local folders or files, relative to the config file. Each output tensor (slices.ts:
 * whole models, or stacked layer ranges renamed to their new indices) is merged on the CPU
 * by the registry's per-tensor merge with the config's parameters at that tensor
 * (mergekit-config-tensor.ts), or copied (passthrough); the result is written as mergekit
 * writes it (merge-output.ts). Safetensors models stream: one output tensor's inputs are read
 * from open file handles at a time and the output is written as it goes (stream-merge-run.ts);
 * ONNX models, or --in-memory, load every model whole first.
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
import type { SafetensorsDtype } from '../src/formats/safetensors-format';
import { choiceOption, requireOption, stringOption, type Parsed } from './args';
import { InputError, readModelInput } from './io';
import { DEFAULT_SHARD_BYTES, isFolderOut, modelFolder, parseShardSize, storedIntegerTensors, writeMergeOutput } from './merge-output';
import { OpenFiles, openStreamCheckpoint, type StreamCheckpoint } from './file-source';
import { writeStreamedOutput } from './stream-merge-run';
import { floatEntries } from '../src/formats/safetensors-source';
import { encodeFloats } from '../src/formats/safetensors-stream-write';

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
    const file = refFile(config, dir, ref);
    const merged = ref === config.base || config.slices.some((s) => s.sources.some((src) => src.model === ref));
    // A tokenizer_source that is no merged model gives its tokenizer files only.
    const checkpoint = merged ? readTensorCheckpointFiles(readModelInput(file)) : TOKENIZER_ONLY;
    loaded.set(ref, { ref, file, checkpoint, byName: new Map(checkpoint.tensors.map((t) => [t.name, t])) });
  }
  return loaded;
}

/** The output tensors of the config, their layers filled in from the loaded models. */
function planOutputs(config: MergekitConfig, loaded: Map<string, LoadedRef>): OutputTensor[] {
  return planOutputNames(config, (ref) => loaded.get(ref)!.checkpoint.tensors.map((t) => t.name));
}

function planOutputNames(config: MergekitConfig, names: (ref: string) => readonly string[]): OutputTensor[] {
  try {
    if (config.models) return planWholeModels(config.slices[0]!.sources.map((s) => s.model), names);
    return planSlices(config.slices, names);
  } catch (err) {
    if (err instanceof SliceError) throw new MergekitConfigError(config.fileName, err.message);
    throw err;
  }
}

/** One output tensor of the config from its inputs (shapes checked): merged, or copied and scaled (passthrough). */
function outputTensor(config: MergekitConfig, o: OutputTensor, inputs: readonly { dims: number[]; data: Float32Array }[], offset: number): Float32Array {
  const dims = inputs[0]!.dims;
  const odd = inputs.findIndex((t) => t.dims.join(',') !== dims.join(','));
  if (odd >= 0) throw new InputError(`${config.fileName}: tensor ${o.name}: ${o.inputs[odd]!.model} has shape [${inputs[odd]!.dims.join(', ')}], ${o.inputs[0]!.model} has [${dims.join(', ')}].`);
  const merge = tensorMerge(config, o);
  if (config.method.kind === 'passthrough') {
    const src = inputs[0]!.data;
    return merge.scale === 1 ? src : src.map((v) => v * merge.scale);
  }
  const data = new Float32Array(inputs[0]!.data.length);
  config.method.method.cpu(
    { name: o.name, offset, dims, params: merge.params, models: merge.models.map((i) => inputs[i]!.data), base: merge.base === null ? null : inputs[merge.base]!.data, out: data },
    null,
  );
  return data;
}

/** The merged tensors of the config. */
export function runMergekitConfig(config: MergekitConfig, loaded: Map<string, LoadedRef>): FloatTensor[] {
  const result: FloatTensor[] = [];
  let offset = 0;
  for (const o of planOutputs(config, loaded)) {
    const inputs = o.inputs.map((i) => loaded.get(i.model)!.byName.get(i.tensor)!);
    const data = outputTensor(config, o, inputs, offset);
    offset += data.length;
    result.push({ name: o.name, dims: inputs[0]!.dims, data });
  }
  return result;
}

/** The dtype written: --dtype, else the config's out_dtype/dtype, else the first model's when all its tensors share one. */
function outputDtype(values: Parsed['values'], config: MergekitConfig, firstDtypes: Iterable<string>): SafetensorsWriteDtype {
  if (stringOption(values, 'dtype') !== undefined) return choiceOption(values, 'dtype', ['F32', 'F16', 'BF16'] as const, 'F32');
  if (config.outDtype) return config.outDtype;
  const dtypes = new Set(firstDtypes);
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
  if (values['in-memory'] !== true) {
    const streamed = await streamConfig(values, config, text, configPath, out);
    if (streamed !== null) return streamed;
  }
  const loaded = loadRefs(config, path.dirname(path.resolve(configPath)));
  const tensors = runMergekitConfig(config, loaded);
  const firstRef = config.slices[0]!.sources[0]!.model;
  const first = loaded.get(firstRef)!;
  const dtype = outputDtype(values, config, first.checkpoint.dtypes.values());
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

/** A referenced model's file, checked to exist (the in-memory path's message). */
function refFile(config: MergekitConfig, dir: string, ref: string): string {
  const file = path.resolve(dir, ref);
  if (!existsSync(file)) {
    throw new InputError(
      `${config.fileName}: model "${ref}" not found (looked for ${file}): model references must be local folders or files, relative to the config file; this CLI does not download from the Hugging Face Hub.`,
    );
  }
  return file;
}

/**
 * The config run streamed: each output tensor's inputs read when it is merged, the output
 * written as it goes; the in-memory path's bytes. null when a merged model is not safetensors.
 */
async function streamConfig(values: Parsed['values'], config: MergekitConfig, text: string, configPath: string, out: string): Promise<number | null> {
  const dir = path.dirname(path.resolve(configPath));
  const files = new OpenFiles();
  try {
    const refs = new Map<string, { file: string; checkpoint: StreamCheckpoint | null }>();
    for (const ref of referencedModels(config)) {
      const file = refFile(config, dir, ref);
      const merged = ref === config.base || config.slices.some((s) => s.sources.some((src) => src.model === ref));
      const checkpoint = merged ? await openStreamCheckpoint(file, files) : null;
      if (merged && checkpoint === null) return null;
      refs.set(ref, { file, checkpoint });
    }
    const sourceOf = (ref: string) => refs.get(ref)!.checkpoint!.source;
    const outputs = planOutputNames(config, (ref) => (refs.get(ref)!.checkpoint ? floatEntries(sourceOf(ref)).map((t) => t.name) : []));
    const firstRef = config.slices[0]!.sources[0]!.model;
    const first = refs.get(firstRef)!.checkpoint!;
    const dtype = outputDtype(values, config, floatEntries(first.source).map((t) => first.storedDtype(t.name)));
    const sourceRef = config.base ?? firstRef;
    const source = refs.get(sourceRef)!;
    const tokenizer = config.tokenizerSource === null || config.tokenizerSource === 'base' ? source : refs.get(config.tokenizerSource)!;
    const inLayers = layerCount(floatEntries(sourceOf(sourceRef)).map((t) => t.name));
    const outLayers = layerCount(outputs.map((o) => o.name));
    const models = [...new Set([...(config.base ? [config.base] : []), ...config.slices.flatMap((s) => s.sources.map((src) => src.model))])];
    const label = config.method.kind === 'passthrough' ? 'passthrough' : config.method.method.label;
    const metadata = exportMetadata({ recipe: { mergekit: text }, merger: `${label} (mergekit config ${config.fileName})`, sources: models, path: 'wasm' });
    const shardBytes = stringOption(values, 'out-shard-size') === undefined ? DEFAULT_SHARD_BYTES : parseShardSize(stringOption(values, 'out-shard-size')!);
    const raw = storedIntegerTensors(source.file);
    const folder = isFolderOut(out)
      ? { metadata, dtype, shardBytes, configFrom: modelFolder(source.file), tokenizerFrom: modelFolder(tokenizer.file), layers: outLayers !== inLayers ? outLayers : null, configYaml: text, card: { method: config.methodName, label, base: config.base, models } }
      : null;
    const { line } = await writeStreamedOutput({
      out,
      folder,
      floats: outputs.map((o) => ({ name: o.name, dtype, shape: sourceOf(o.inputs[0]!.model).entry(o.inputs[0]!.tensor)!.shape })),
      raw: raw.map((r) => ({ entry: { name: r.name, dtype: r.dtype as SafetensorsDtype, shape: r.dims }, bytes: async () => r.bytes })),
      metadata,
      produce: async (write) => {
        let offset = 0;
        for (const o of outputs) {
          const inputs = await Promise.all(o.inputs.map(async (i) => ({ dims: sourceOf(i.model).entry(i.tensor)!.shape, data: await sourceOf(i.model).readTensor(i.tensor) })));
          const data = outputTensor(config, o, inputs, offset);
          offset += data.length;
          await write(o.name, encodeFloats(data, dtype));
        }
      },
    });
    const written = folder ? line : `wrote ${out} (${dtype})`;
    process.stdout.write(`merged ${outputs.length} tensors from ${refs.size} models with ${config.methodName} (${config.fileName}${outLayers !== inLayers ? `, ${outLayers} layers` : ''}), streamed\n${written}\n`);
    return 0;
  } finally {
    await files.closeAll();
  }
}
