/**
 * What the user has loaded: checkpoints, tokenizer, dev and held-out files, label
 * names. Adding files is all-or-nothing per file: a bad file is reported by name
 * and leaves everything already loaded untouched.
 */
import { detectFormat } from '../formats/registry';
import { readOnnx, describeArchitectureDifference, type OnnxModel } from '../formats/onnx';
import { parseJsonl, encodeDataset, classBalance, subsetDataset, type DevRow, type EncodedDataset } from '../eval/dataset';
import { loadTokenizer, type TextTokenizer } from '../eval/tokenize';
import { datasetStrata, splitDevHeldout } from '../eval/split';
import { floatInitializers, mergedLayout, onnxFloatTensors } from './layout';
import { externalWeightsProblem, nonFiniteCount } from './tensor-sets';
import { populationBytes } from './population';
import type { CheckpointSummary, DatasetSummary, FileProblem, LoadReport, NamedBytes, StudioSnapshot } from './types';

export const MAX_CHECKPOINTS = 8;
/** Fraction of the dev file held out when no separate held-out file is given. */
export const HELDOUT_FRACTION = 0.25;
const SPLIT_SEED = 20240612;

export interface Checkpoint {
  name: string;
  bytes: Uint8Array;
  model: OnnxModel;
  /** NaN and ±Inf weights: the checkpoint loads, and the studio warns. */
  nonFinite: number;
}

interface RowsFile {
  fileName: string;
  rows: DevRow[];
}

export interface EncodedSplits {
  dev: EncodedDataset;
  heldout: EncodedDataset;
  summary: DatasetSummary;
}

const HELDOUT_NAME = /held[-_ ]?out|test/i;
const decoder = new TextDecoder();

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Prefix the file name unless the parser already did. */
function named(fileName: string, message: string): FileProblem {
  return { fileName, message: message.startsWith(fileName) ? message : `${fileName}: ${message}` };
}

export interface ModelShape {
  sequenceLength: number;
  numClasses: number;
}

/** Sequence length and class count of a classifier graph, from its static shapes. */
export function modelShape(model: OnnxModel, fileName: string): ModelShape {
  const ids = model.inputs.find((i) => i.name === 'input_ids') ?? model.inputs[0];
  if (!ids) throw new Error(`${fileName}: the graph has no inputs.`);
  const seq = ids.dims[1];
  const out = model.outputs[0]?.dims ?? [];
  const classes = out[out.length - 1];
  if (typeof classes !== 'number') throw new Error(`${fileName}: output ${model.outputs[0]?.name ?? '(none)'} has no static class dimension.`);
  return { sequenceLength: typeof seq === 'number' ? seq : 128, numClasses: classes };
}

/** Encodes dev rows (parsed JSONL) for a graph: its sequence length and classes, the tokenizer when rows are text. */
export function encodeRowsForModel(rows: DevRow[], fileName: string, shape: ModelShape, tokenizer: TextTokenizer | undefined, labels?: string[]): EncodedDataset {
  return encodeDataset(rows, { fileName, tokenizer, sequenceLength: shape.sequenceLength, padId: tokenizer?.padId ?? 0, labels, numClasses: shape.numClasses });
}

export class Workspace {
  checkpoints: Checkpoint[] = [];
  tokenizer: { fileName: string; tokenizer: TextTokenizer } | null = null;
  devFile: RowsFile | null = null;
  heldoutFile: RowsFile | null = null;
  labels: string[] | null = null;
  /** The checkpoint marked as the base (pre-trained) model, if any. */
  baseName: string | null = null;
  /** A base named by a manifest before its checkpoint arrived. */
  private pendingBase: string | null = null;
  /** Encoded splits for the current files; null until a dev set and a checkpoint are both loaded. */
  private encoded: EncodedSplits | null = null;
  private readonly encodedRows = new WeakMap<RowsFile, { tokenizer: TextTokenizer | undefined; labels: string[] | undefined; shape: ModelShape; dataset: EncodedDataset }>();

  addFiles(files: readonly NamedBytes[]): LoadReport {
    const problems: FileProblem[] = [];
    const accepted: string[] = [];
    // Data files are checked together (rows against the tokenizer, labels and the model's
    // class count), so keep what was loaded to restore it if the new combination fails.
    const previousData = { tokenizer: this.tokenizer, devFile: this.devFile, heldoutFile: this.heldoutFile, labels: this.labels };
    // Tokenizer and label files first: dev rows are validated against them.
    const order = { tokenizer: 0, json: 1, onnx: 2, jsonl: 3, safetensors: 4, unknown: 5 } as const;
    const typed = files.map((f) => ({ file: f, format: detectFormat(f.name, f.bytes.subarray(0, 65536)) }));
    typed.sort((a, b) => order[a.format] - order[b.format]);
    for (const { file, format } of typed) {
      try {
        switch (format) {
          case 'onnx':
            this.addCheckpoint(file);
            break;
          case 'tokenizer':
            this.tokenizer = { fileName: file.name, tokenizer: loadTokenizer(decoder.decode(file.bytes), file.name) };
            break;
          case 'jsonl':
            this.addRows(file);
            break;
          case 'json':
            this.addLabelFile(file);
            break;
          case 'safetensors':
            throw new Error('safetensors checkpoints need their ONNX graph; drop the exported .onnx checkpoints instead.');
          default:
            throw new Error('not a recognised file (expected .onnx checkpoints, a .jsonl dev set, tokenizer.json).');
        }
        accepted.push(file.name);
      } catch (err) {
        problems.push(named(file.name, errorMessage(err)));
      }
    }
    this.encoded = null;
    if (this.devFile && this.checkpoints.length > 0) {
      try {
        this.encoded = this.encode();
      } catch (err) {
        const fileName = (err as { fileName?: string }).fileName ?? this.devFile.fileName;
        problems.push(named(fileName, errorMessage(err)));
        Object.assign(this, previousData);
        const dataNames = new Set(typed.filter((t) => t.format !== 'onnx').map((t) => t.file.name));
        accepted.splice(0, accepted.length, ...accepted.filter((name) => !dataNames.has(name)));
        this.encoded = this.tryEncode();
      }
    }
    return { ...this.snapshot(), accepted, problems };
  }

  private tryEncode(): EncodedSplits | null {
    if (!this.devFile || this.checkpoints.length === 0) return null;
    try {
      return this.encode();
    } catch {
      return null;
    }
  }

  private addCheckpoint(file: NamedBytes): void {
    if (this.checkpoints.some((c) => c.name === file.name)) throw new Error('a checkpoint with this name is already loaded.');
    if (this.checkpoints.length >= MAX_CHECKPOINTS) throw new Error(`at most ${MAX_CHECKPOINTS} checkpoints can be evolved together.`);
    const model = readOnnx(file.bytes, file.name);
    const problem = externalWeightsProblem(model);
    if (problem) throw new Error(problem);
    const reference = this.checkpoints[0];
    if (reference) {
      const difference = describeArchitectureDifference({ fileName: reference.name, model: reference.model }, { fileName: file.name, model });
      if (difference) throw new Error(`not the same architecture as ${reference.name}: ${difference}`);
    }
    this.checkpoints.push({ name: file.name, bytes: file.bytes, model, nonFinite: nonFiniteCount(onnxFloatTensors(model)) });
    if (this.pendingBase === file.name) this.baseName = file.name;
  }

  private addRows(file: NamedBytes): void {
    const rows = parseJsonl(decoder.decode(file.bytes), file.name);
    if (rows.length === 0) throw new Error('has no rows.');
    const entry = { fileName: file.name, rows };
    if (HELDOUT_NAME.test(file.name)) this.heldoutFile = entry;
    else this.devFile = entry;
  }

  private addLabelFile(file: NamedBytes): void {
    // tokenizer.json alone is enough (loadTokenizer reads the unknown token from it);
    // a companion tokenizer_config.json is accepted so dropping a model folder works.
    if (/(^|\/)tokenizer_config\.json$/.test(file.name)) return;
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(file.bytes));
    } catch {
      throw new Error('is not valid JSON.');
    }
    const labels = (json as { labels?: unknown }).labels;
    // A sample manifest may name the base model ({"models": [{"file", "role": "base"}]}).
    const models = (json as { models?: { file?: unknown; role?: unknown }[] }).models;
    const baseFile = Array.isArray(models) ? models.find((m) => m?.role === 'base')?.file : undefined;
    if (typeof baseFile === 'string') this.pendingBase = baseFile;
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
      throw new Error('is JSON but neither a tokenizer nor a label list ({"labels": [...]})');
    }
    this.labels = labels as string[];
  }

  setBase(name: string | null): void {
    if (name !== null && !this.checkpoints.some((c) => c.name === name)) throw new Error(`No checkpoint named ${name} is loaded.`);
    this.baseName = name;
  }

  /** The checkpoints that form the population: all but the base. */
  population(): Checkpoint[] {
    return this.checkpoints.filter((c) => c.name !== this.baseName);
  }

  base(): Checkpoint | null {
    return this.checkpoints.find((c) => c.name === this.baseName) ?? null;
  }

  removeCheckpoint(name: string): void {
    if (this.baseName === name) this.baseName = null;
    this.checkpoints = this.checkpoints.filter((c) => c.name !== name);
    if (this.checkpoints.length === 0) this.encoded = null;
  }

  /** The encoded dev and held-out splits, or an error saying what is missing. */
  splits(): EncodedSplits {
    if (!this.devFile) throw new Error('Load a dev set (.jsonl) first.');
    if (this.checkpoints.length === 0) throw new Error('Load checkpoints first.');
    this.encoded ??= this.encode();
    return this.encoded;
  }

  /** Sequence length and class count come from the graph's static shapes. */
  modelShape(): ModelShape {
    return modelShape(this.checkpoints[0].model, this.checkpoints[0].name);
  }

  /**
   * Encoded rows of a file, reused while the tokenizer, the labels and the model's shape
   * stay the same: dropping a checkpoint or another file does not re-tokenize the dev set.
   */
  private encodeCached(file: RowsFile, shape: ModelShape): EncodedDataset {
    const tokenizer = this.tokenizer?.tokenizer;
    const labels = this.labels ?? undefined;
    const hit = this.encodedRows.get(file);
    if (hit && hit.tokenizer === tokenizer && hit.labels === labels && hit.shape.sequenceLength === shape.sequenceLength && hit.shape.numClasses === shape.numClasses) return hit.dataset;
    const dataset = encodeRowsForModel(file.rows, file.fileName, shape, tokenizer, labels);
    this.encodedRows.set(file, { tokenizer, labels, shape, dataset });
    return dataset;
  }

  /** Encodes dev and held-out rows for the loaded architecture; throws a DatasetError naming the file. */
  private encode(): EncodedSplits {
    if (!this.devFile) throw new Error('no dev set loaded');
    const shape = this.modelShape();
    const { sequenceLength, numClasses } = shape;
    const encode = (file: RowsFile) => this.encodeCached(file, shape);
    const dev = encode(this.devFile);
    let devPart: EncodedDataset;
    let heldout: EncodedDataset;
    if (this.heldoutFile) {
      devPart = dev;
      heldout = encode(this.heldoutFile);
    } else {
      const split = splitDevHeldout(dev.size, HELDOUT_FRACTION, SPLIT_SEED, datasetStrata(dev));
      devPart = subsetDataset(dev, split.dev);
      heldout = subsetDataset(dev, split.heldout);
    }
    const labels = this.labels ?? Array.from({ length: numClasses }, (_, i) => String(i));
    const summary: DatasetSummary = {
      devFile: this.devFile.fileName,
      heldoutFile: this.heldoutFile?.fileName ?? null,
      devSize: devPart.size,
      heldoutSize: heldout.size,
      sequenceLength,
      numClasses,
      labels,
      devClassBalance: classBalance(devPart),
      heldoutClassBalance: classBalance(heldout),
      domains: devPart.domainNames,
      heldoutSource: this.heldoutFile ? 'file' : 'split',
    };
    return { dev: devPart, heldout, summary };
  }

  snapshot(): StudioSnapshot {
    const first = this.checkpoints[0]?.model;
    const members = this.population();
    const layout = members.length > 1 ? mergedLayout(members.map((c) => c.model)) : null;
    return {
      checkpoints: this.checkpoints.map((c) => summarizeCheckpoint(c, c.name === this.baseName)),
      dataset: this.encoded?.summary ?? null,
      tokenizer: this.tokenizer?.fileName ?? null,
      architecture: first
        ? {
            inputs: first.inputs.map((i) => i.name),
            outputs: first.outputs.map((o) => o.name),
            opset: first.opsetVersion,
            mergedTensors: layout?.slots.length ?? 0,
            mergedParameters: layout?.totalSize ?? 0,
            populationBytes: layout ? populationBytes(layout.totalSize, members.length) : 0,
          }
        : null,
    };
  }
}

function summarizeCheckpoint(c: Checkpoint, isBase: boolean): CheckpointSummary {
  const floats = floatInitializers(c.model);
  return {
    name: c.name,
    isBase,
    bytes: c.bytes.byteLength,
    parameterCount: floats.reduce((n, init) => n + init.floats!.length, 0),
    tensorCount: floats.length,
    dtype: 'F32',
    nonFinite: c.nonFinite,
  };
}
