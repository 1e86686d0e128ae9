/**
 * A merge written as mergekit writes its output folder: sharded safetensors
 * (model-00001-of-0000N.safetensors, at most --out-shard-size each) with
 * model.safetensors.index.json, config.json and the tokenizer files copied from a source
 * model's folder, a README.md model card and mergekit_config.yml. `--out FILE.safetensors`
 * still writes one file. Shards and card come from src/export/exports.ts. The tensors that are
 * not floats (I64 position ids, masks) are copied through from the base (or the first model),
 * as mergekit does and as the single-file path does (cli/checkpoints.ts mergedSafetensors).
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mergekitCard, type MergekitCardInput } from '../src/export/exports';
import { typedShardedSafetensors, typedTensors, writeTypedSafetensors } from '../src/export/result-export';
import { FLOAT_DTYPES } from '../src/formats/safetensors-format';
import { readSafetensorsLayout, safetensorsHeaderBytes } from '../src/formats/safetensors-read';
import type { RawTensor } from '../src/project/tensor-sets';
import { writeSafetensors } from '../src/formats/safetensors-write';
import type { FloatTensor } from '../src/merge/layout';
import type { SafetensorsWriteDtype } from '../src/protocol/files';
import type { MergeParams } from '../src/protocol/settings';
import { mergekitYaml } from '../src/merge/mergekit-config-write';
import { findMethod } from '../src/merge/registry';
import { UsageError } from './args';
import { writeOutput } from './io';

/** mergekit's default --out-shard-size: 5B bytes. */
export const DEFAULT_SHARD_BYTES = 5e9;

/** A size as mergekit's --out-shard-size takes it: "5B", "500M", "64K" (powers of 1000) or plain bytes. */
export function parseShardSize(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMbBgG]?)\s*$/.exec(raw);
  const scale: Record<string, number> = { '': 1, k: 1e3, m: 1e6, b: 1e9, g: 1e9 };
  const bytes = m ? Math.round(Number(m[1]) * scale[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isFinite(bytes) || bytes <= 0) throw new UsageError(`--out-shard-size must be a size such as 5B, 500M, 64K or a number of bytes; got "${raw}".`, 'merge');
  return bytes;
}

/** Whether --out names a folder (mergekit's output) rather than one .safetensors file. */
export function isFolderOut(out: string): boolean {
  return !/\.safetensors$/i.test(out);
}

/** Files a Hugging Face model folder keeps its tokenizer in. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model', 'vocab.json', 'merges.txt', 'vocab.txt', 'added_tokens.json', 'chat_template.jinja'];
/** config.json keys that count layers, by architecture family. */
const LAYER_KEYS = ['num_hidden_layers', 'n_layer', 'num_layers'];

/** The folder a model argument sits in (the folder itself, or a file's folder). */
export function modelFolder(arg: string): string {
  return existsSync(arg) && statSync(arg).isDirectory() ? arg : path.dirname(arg);
}

export interface FolderOutput {
  tensors: readonly FloatTensor[];
  metadata: Record<string, string>;
  /** Tensors that are not floats, written as stored (none when absent). */
  raw?: readonly RawTensor[];
  dtype: SafetensorsWriteDtype;
  shardBytes: number;
  /** Where config.json comes from (the base's folder, else the first model's), or null. */
  configFrom: string | null;
  /** Where the tokenizer files come from, or null. */
  tokenizerFrom: string | null;
  /** The output's layer count when it differs from the source's (passthrough), for config.json. */
  layers: number | null;
  configYaml: string;
  card: Omit<MergekitCardInput, 'files' | 'configYaml'>;
}

/** The folder --out names, created; refused when it is a file. */
export function prepareFolder(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file: give a folder (or a path ending in .safetensors for one file).`, 'merge');
  mkdirSync(dir, { recursive: true });
}

/** Writes the folder; returns the names of the files written. */
export function writeModelFolder(dir: string, out: FolderOutput): string[] {
  prepareFolder(dir);
  const written: string[] = [];
  for (const f of typedShardedSafetensors(out.tensors, out.raw ?? [], { format: 'pt', ...out.metadata }, out.dtype, out.shardBytes)) {
    writeFileSync(path.join(dir, f.fileName), f.bytes);
    written.push(f.fileName);
  }
  return writeFolderSidecars(dir, out, written);
}

/**
 * After the shards (written: their file names), the rest of mergekit's folder: config.json,
 * the tokenizer files, mergekit_config.yml and README.md; returns every file name written.
 */
export function writeFolderSidecars(dir: string, out: Omit<FolderOutput, 'tensors' | 'raw'>, shards: readonly string[]): string[] {
  const written = [...shards];
  const put = (name: string, bytes: Uint8Array | string) => {
    writeFileSync(path.join(dir, name), bytes);
    written.push(name);
  };
  const config = out.configFrom ? path.join(out.configFrom, 'config.json') : null;
  if (config && existsSync(config)) {
    const json = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    if (out.layers !== null) for (const key of LAYER_KEYS) if (typeof json[key] === 'number') json[key] = out.layers;
    if (typeof json.torch_dtype === 'string' || out.dtype !== 'F32') json.torch_dtype = out.dtype === 'F16' ? 'float16' : out.dtype === 'BF16' ? 'bfloat16' : 'float32';
    put('config.json', `${JSON.stringify(json, null, 2)}\n`);
  }
  if (out.tokenizerFrom) {
    for (const name of TOKENIZER_FILES) {
      const from = path.join(out.tokenizerFrom, name);
      if (existsSync(from) && statSync(from).isFile()) {
        copyFileSync(from, path.join(dir, name));
        written.push(name);
      }
    }
  }
  put('mergekit_config.yml', out.configYaml.endsWith('\n') ? out.configYaml : `${out.configYaml}\n`);
  const files = [...written, 'README.md'];
  put('README.md', mergekitCard({ ...out.card, configYaml: out.configYaml, files }));
  return written;
}

/** The merge as one .safetensors file, or as a model folder when --out is not a .safetensors path. */
export function writeMergeOutput(outPath: string, out: FolderOutput): string {
  if (!isFolderOut(outPath)) {
    const raw = out.raw ?? [];
    writeOutput(outPath, raw.length > 0 ? writeTypedSafetensors(typedTensors(out.tensors, raw, out.dtype), out.metadata) : writeSafetensors(out.tensors.map((t) => ({ name: t.name, shape: t.dims, data: t.data })), out.metadata, out.dtype));
    return `wrote ${outPath} (${out.dtype})`;
  }
  return folderLine(outPath, out.dtype, writeModelFolder(outPath, out));
}

export interface FlagMergeFolder {
  tensors: readonly FloatTensor[];
  metadata: Record<string, string>;
  /** --dtype, or null: the first model's dtype when all its tensors share one, else F32. */
  dtype: SafetensorsWriteDtype | null;
  sourceDtypes: Iterable<string>;
  shardSize: string | undefined;
  params: MergeParams;
  /** The model arguments as given, and --base. */
  models: readonly string[];
  base: string | null;
  /** The base's (or the first model's) tensors that are not floats; absent: read from its files. */
  raw?: readonly RawTensor[];
}

/** The safetensors files of a model argument: a folder's, an index's folder's, or the file itself. */
function safetensorsFilesOf(arg: string): string[] {
  if (!existsSync(arg)) return [];
  const folder = statSync(arg).isDirectory() ? arg : /\.safetensors\.index\.json$/i.test(arg) ? path.dirname(arg) : null;
  if (folder) return readdirSync(folder).filter((f) => /\.safetensors$/i.test(f)).sort().map((f) => path.join(folder, f));
  return /\.safetensors$/i.test(arg) ? [arg] : [];
}

function readRange(fd: number, start: number, end: number): Uint8Array {
  const bytes = new Uint8Array(end - start);
  let at = 0;
  while (at < bytes.length) {
    const n = readSync(fd, bytes, at, bytes.length - at, start + at);
    if (n <= 0) break;
    at += n;
  }
  return bytes;
}

/** A model argument's tensors that are not floats, as stored: only the headers and those tensors are read. */
export function storedIntegerTensors(arg: string): RawTensor[] {
  const raw: RawTensor[] = [];
  for (const file of safetensorsFilesOf(arg)) {
    const fd = openSync(file, 'r');
    try {
      const size = statSync(file).size;
      const layout = readSafetensorsLayout(readRange(fd, 0, safetensorsHeaderBytes(readRange(fd, 0, 8))), size, path.basename(file));
      for (const t of layout.tensors) {
        if (!FLOAT_DTYPES.has(t.dtype)) raw.push({ name: t.name, dtype: t.dtype, dims: t.shape, bytes: readRange(fd, layout.dataStart + t.begin, layout.dataStart + t.end) });
      }
    } finally {
      closeSync(fd);
    }
  }
  return raw;
}

/** What `merge --method … --out DIR` writes besides the tensors: the flags as mergekit YAML, the card, the dtype and shard size. */
export function flagFolderPlan(f: Omit<FlagMergeFolder, 'tensors'>): Omit<FolderOutput, 'tensors'> & { raw: readonly RawTensor[] } {
  const dtypes = new Set(f.sourceDtypes);
  const only = dtypes.size === 1 ? [...dtypes][0] : undefined;
  const dtype = f.dtype ?? (only === 'F16' || only === 'BF16' ? only : 'F32');
  const yaml = mergekitYaml({ params: f.params, models: f.models, base: f.base, dtype });
  const method = findMethod(f.params.method);
  const source = f.base ?? f.models[0]!;
  return {
    metadata: f.metadata,
    raw: f.raw ?? storedIntegerTensors(source),
    dtype,
    shardBytes: f.shardSize === undefined ? DEFAULT_SHARD_BYTES : parseShardSize(f.shardSize),
    configFrom: modelFolder(source),
    tokenizerFrom: modelFolder(source),
    layers: null,
    configYaml: yaml.text,
    card: { method: method?.id ?? f.params.method, label: method?.label ?? f.params.method, base: f.base, models: f.models },
  };
}

/** `merge --method … --out DIR`: the merge as mergekit's output folder, with the flags written as mergekit YAML. */
export function writeFlagMergeFolder(dir: string, f: FlagMergeFolder): string {
  return writeMergeOutput(dir, { ...flagFolderPlan(f), tensors: f.tensors });
}

/** The line that reports a written folder. */
export function folderLine(dir: string, dtype: string, files: readonly string[]): string {
  const shards = files.filter((f) => f.endsWith('.safetensors')).length;
  return `wrote ${dir}/ (${dtype}, ${shards} shard${shards === 1 ? '' : 's'}, ${files.length} files: ${files.join(', ')})`;
}
