/**
 * What the user has loaded: checkpoints, tokenizer, dev and held-out files, label
 * names. Adding files is all-or-nothing per file: a bad file is reported by name
 * and leaves everything already loaded untouched.
 */
import { CheckpointMismatchError } from '../protocol/errors';
import { hubIdOfConfig, labelsOfConfig } from './hub-id';
import { detectFormat } from '../formats/registry';
import { readOnnx, type OnnxModel } from '../formats/onnx-read';
import { describeArchitectureDifference } from '../formats/onnx-compare';
import { parseJsonl, type DevRow, type EncodedDataset } from '../eval/dataset';
import { loadTokenizer, type TextTokenizer } from '../eval/tokenize';
import type { ColumnChoice } from '../protocol/project';
import type { CsvTable } from '../eval/csv';
import { readTableFile, tablePreviews, withColumns, withColumnsNamed } from './dev-table';
import { floatInitializers, mergedLayout, onnxFloatTensors } from '../merge/layout';
import { nonFiniteCount } from './tensor-sets';
import { embedExternalData, externalDataFiles } from '../formats/onnx-external';
import type { KeptCheckpoint } from './graph-mapping';
import { loadSafetensors, summarizeGraph, type ProjectGraph } from './safetensors-loading';
import { populationBytes } from '../population/population';
import { memoryPlan, type MemoryLimits } from '../population/memory-plan';
import type { CheckpointSummary, FileProblem, LoadReport, StudioSnapshot } from '../protocol/project';
import type { InputFile } from './input-files';
import { buildSplits, encodeRowsForModel, modelTask, type EncodedSplits, type ModelTask } from './dataset-splits';

export const MAX_CHECKPOINTS = 8;

export interface Checkpoint {
  name: string;
  bytes: Uint8Array;
  model: OnnxModel;
  /** NaN and ±Inf weights: the checkpoint loads, and the studio warns. */
  nonFinite: number;
  /** Safetensors checkpoints: their own tensors (names, shapes, dtype), run on the project's graph. */
  source?: KeptCheckpoint;
  /** The files it came from, when more than its name (an index and shards, or .onnx + data file). */
  files?: string[];
  /** Bytes of those files. */
  fileBytes?: number;
}

interface RowsFile {
  fileName: string;
  rows: DevRow[];
  /** CSV/TSV files: the parsed table and the columns the rows were read from (dev-table.ts). */
  table?: CsvTable;
  choice?: ColumnChoice;
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

/** A refusal as a problem, marked when the checkpoint was readable but of another architecture. */
function refusal(fileName: string, err: unknown, message = errorMessage(err)): FileProblem {
  const problem = named(fileName, message);
  return err instanceof CheckpointMismatchError ? { ...problem, mismatch: true } : problem;
}

/** The refusal of a file no reader takes: it lists every kind the studio accepts. */
const ACCEPTED_FILES =
  'not a file the studio reads; it accepts ONNX checkpoints (.onnx, with their .onnx_data), safetensors checkpoints (.safetensors, sharded with their .safetensors.index.json), ' +
  'tokenizer.json, dev sets (.jsonl, .csv, .tsv), recipes (.json) and mergekit configs (.yml, .yaml).';

export class Workspace {
  checkpoints: Checkpoint[] = [];
  tokenizer: { fileName: string; tokenizer: TextTokenizer } | null = null;
  devFile: RowsFile | null = null;
  heldoutFile: RowsFile | null = null;
  labels: string[] | null = null;
  /** The checkpoint marked as the base (pre-trained) model, if any. */
  baseName: string | null = null;
  /** The ONNX graph safetensors checkpoints run on, and their tensor mapping (safetensors-loading.ts). */
  project: ProjectGraph | null = null;
  /** The compute path's memory limits (set by the engine), for the up-front memory plan. */
  limits: MemoryLimits = { path: 'wasm', maxStorageBufferBindingSize: null, maxBufferSize: null };
  /** A base named by a manifest before its checkpoint arrived. */
  private pendingBase: string | null = null;
  /** The task the user named (studio picker, CLI --task); null: guessed from the rows and the graph. */
  private taskOverride: string | null = null;
  /** Hub model ids from the config.json files dropped, by the folder each sits in ('' at the top). */
  private readonly hubIds = new Map<string, string>();
  /** Encoded splits for the current files; null until a dev set and a checkpoint are both loaded. */
  private encoded: EncodedSplits | null = null;
  private readonly encodedRows = new WeakMap<RowsFile, { tokenizer: TextTokenizer | undefined; labels: string[] | undefined; model: ModelTask; dataset: EncodedDataset }>();

  addFiles(files: readonly InputFile[]): LoadReport {
    const problems: FileProblem[] = [];
    const accepted: string[] = [];
    // Data files are checked together (rows against the tokenizer, labels and what the model's
    // task reads off the graph), so keep what was loaded to restore it if the new combination fails.
    const previousData = { tokenizer: this.tokenizer, devFile: this.devFile, heldoutFile: this.heldoutFile, labels: this.labels };
    // Tokenizer and label files first: dev rows are validated against them.
    const order = { tokenizer: 0, json: 1, 'onnx-data': 2, onnx: 2, jsonl: 3, csv: 3, safetensors: 4, 'safetensors-index': 4, unknown: 5 } as const;
    const typed = files.map((f) => ({ file: f, format: detectFormat(f.name, f.bytes.subarray(0, 65536)) }));
    typed.sort((a, b) => order[a.format] - order[b.format]);
    // Side files are read with what they belong to: external data with its .onnx, shards with their index.
    const ofFormat = (format: string) => typed.filter((t) => t.format === format).map((t) => t.file);
    const externalData = new Map(ofFormat('onnx-data').map((f) => [f.name, f.bytes]));
    for (const { file, format } of typed) {
      if (format === 'onnx-data' || format === 'safetensors' || format === 'safetensors-index') continue;
      try {
        switch (format) {
          case 'onnx':
            accepted.push(...this.addCheckpoint(file, externalData));
            break;
          case 'tokenizer':
            this.tokenizer = { fileName: file.name, tokenizer: loadTokenizer(decoder.decode(file.bytes), file.name) };
            break;
          case 'jsonl':
          case 'csv':
            this.addRows(file, format);
            break;
          case 'json':
            this.addLabelFile(file);
            break;
          default:
            throw new Error(ACCEPTED_FILES);
        }
        accepted.push(file.name);
      } catch (err) {
        problems.push(refusal(file.name, err));
      }
    }
    this.addSafetensors(ofFormat('safetensors-index'), ofFormat('safetensors'), accepted, problems);
    const used = new Set(accepted);
    for (const name of externalData.keys()) if (!used.has(name)) problems.push(named(name, 'is ONNX external data that no .onnx in this drop points to: drop it with its model.'));
    this.encoded = null;
    if (this.devFile && this.checkpoints.length > 0) {
      try {
        this.encoded = this.encode();
      } catch (err) {
        const fileName = (err as { fileName?: string }).fileName ?? this.devFile.fileName;
        problems.push(named(fileName, errorMessage(err)));
        Object.assign(this, previousData);
        const checkpointFormats = new Set(['onnx', 'onnx-data', 'safetensors', 'safetensors-index']);
        const dataNames = new Set(typed.filter((t) => !checkpointFormats.has(t.format)).map((t) => t.file.name));
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

  /** Adds an ONNX checkpoint (its external data embedded); returns the side files it used. */
  private addCheckpoint(file: InputFile, externalData: ReadonlyMap<string, Uint8Array>): string[] {
    this.checkRoomFor(file.name);
    let bytes = file.bytes;
    let model = readOnnx(bytes, file.name);
    const sideFiles = externalDataFiles(model, file.name);
    if (sideFiles.length > 0 || model.initializers.some((i) => i.external)) {
      bytes = embedExternalData(bytes, model, file.name, externalData);
      model = readOnnx(bytes, file.name);
    }
    this.checkArchitecture(file.name, model);
    const files = sideFiles.length > 0 ? [file.name, ...sideFiles] : undefined;
    const fileBytes = file.bytes.byteLength + sideFiles.reduce((n, f) => n + externalData.get(f)!.byteLength, 0);
    this.checkpoints.push({ name: file.name, bytes, model, nonFinite: nonFiniteCount(onnxFloatTensors(model)), files, fileBytes });
    if (this.pendingBase === file.name) this.baseName = file.name;
    return sideFiles;
  }

  private checkRoomFor(name: string): void {
    if (this.checkpoints.some((c) => c.name === name)) throw new Error('a checkpoint with this name is already loaded.');
    if (this.checkpoints.length >= MAX_CHECKPOINTS) throw new Error(`at most ${MAX_CHECKPOINTS} checkpoints can be evolved together.`);
  }

  private checkArchitecture(name: string, model: OnnxModel): void {
    const reference = this.checkpoints[0];
    if (!reference) return;
    const difference = describeArchitectureDifference({ fileName: reference.name, model: reference.model }, { fileName: name, model });
    if (difference) throw new CheckpointMismatchError(name, `not the same architecture as ${reference.name}: ${difference}`);
  }

  /**
   * Safetensors checkpoints (sharded or single files) run on the project's ONNX graph: the
   * one ONNX checkpoint loaded becomes that graph and leaves the population. If it was the
   * base, the checkpoint it was exported from (found by value) becomes the base.
   */
  private addSafetensors(indexes: InputFile[], shards: InputFile[], accepted: string[], problems: FileProblem[]): void {
    if (indexes.length === 0 && shards.length === 0) return;
    const onnx = this.checkpoints.filter((c) => !c.source);
    const load = loadSafetensors(indexes, shards, this.project, this.project ? [] : onnx);
    problems.push(...load.problems);
    if (!load.project || load.checkpoints.length === 0) return;
    if (!this.project) {
      const graph = load.project.graph.name;
      this.checkpoints = this.checkpoints.filter((c) => c.name !== graph);
      if (this.baseName === graph || this.pendingBase === graph) {
        this.baseName = null;
        this.pendingBase = load.project.mapping.reference;
      }
      this.project = load.project;
    }
    for (const c of load.checkpoints) {
      try {
        this.checkRoomFor(c.name);
        this.checkArchitecture(c.name, c.model);
      } catch (err) {
        problems.push(refusal(c.files[0]!, err, `${c.name}: ${errorMessage(err)}`));
        continue;
      }
      this.checkpoints.push(c);
      accepted.push(...c.files);
      if (this.pendingBase === c.name) this.baseName = c.name;
    }
  }

  private addRows(file: InputFile, format: 'jsonl' | 'csv'): void {
    const entry: RowsFile = format === 'csv' ? readTableFile(file.name, file.bytes) : { fileName: file.name, rows: parseJsonl(decoder.decode(file.bytes), file.name) };
    if (entry.rows.length === 0) throw new Error('has no rows.');
    if (HELDOUT_NAME.test(file.name)) this.heldoutFile = entry;
    else this.devFile = entry;
  }

  private addLabelFile(file: InputFile): void {
    // tokenizer.json alone is enough (loadTokenizer reads the unknown token from it);
    // a companion tokenizer_config.json is accepted so dropping a model folder works.
    if (/(^|\/)(tokenizer_config|special_tokens_map|generation_config)\.json$/.test(file.name)) return;
    // A model folder's config.json: the Hub id it names (for the model card) and its label names.
    if (/(^|\/)config\.json$/.test(file.name)) {
      const text = decoder.decode(file.bytes);
      const id = hubIdOfConfig(text);
      if (id) this.hubIds.set(folderOf(file.name), id);
      const labels = labelsOfConfig(text);
      if (labels) this.labels = labels;
      return;
    }
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

  /**
   * Reads a CSV/TSV dev or held-out file through other columns and re-encodes. A choice that
   * does not fit (a missing column, labels the model's task refuses) throws naming the file
   * and leaves the previous choice in place.
   */
  setDatasetColumns(fileName: string, choice: ColumnChoice): void {
    const slot = this.devFile?.fileName === fileName ? 'devFile' : this.heldoutFile?.fileName === fileName ? 'heldoutFile' : null;
    const file = slot && this[slot];
    if (!slot || !file) throw new Error(`No dev or held-out file named ${fileName} is loaded.`);
    if (!file.table) throw new Error(`${fileName}: only CSV/TSV files have columns to choose.`);
    const previous = { file, encoded: this.encoded };
    this[slot] = withColumns(file.table, choice);
    if (this.checkpoints.length === 0) return;
    try {
      this.encoded = this.encode();
    } catch (err) {
      this[slot] = previous.file;
      this.encoded = previous.encoded;
      throw err;
    }
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
    // The graph goes with the last checkpoint that runs on it.
    if (!this.checkpoints.some((c) => c.source)) this.project = null;
  }

  /** The encoded dev and held-out splits, or an error saying what is missing. */
  splits(): EncodedSplits {
    if (!this.devFile) throw new Error('Load a dev set (.jsonl or .csv) first.');
    if (this.checkpoints.length === 0) throw new Error('Load checkpoints first.');
    this.encoded ??= this.encode();
    return this.encoded;
  }

  /** The first checkpoint's task (named, else guessed from the dev rows and its graph) and the shape it reads off the graph. */
  modelTask(): ModelTask {
    return modelTask(this.checkpoints[0].model, this.checkpoints[0].name, this.devFile?.rows ?? [], this.taskOverride);
  }

  /**
   * Names the task (null: guess it again) and encodes the splits for it. A task that cannot score
   * the checkpoints or read the dev rows throws, naming the file, and the previous one stays.
   */
  setTask(id: string | null): void {
    const previous = this.taskOverride;
    this.taskOverride = id;
    if (!this.devFile || this.checkpoints.length === 0) return;
    try {
      this.encoded = this.encode();
    } catch (err) {
      this.taskOverride = previous;
      this.encoded = this.tryEncode();
      throw err;
    }
  }

  /**
   * Encoded rows of a file, reused while the tokenizer, the labels and the model's task and
   * shape stay the same: dropping a checkpoint or another file does not re-tokenize the dev set.
   */
  private encodeCached(file: RowsFile, model: ModelTask): EncodedDataset {
    const tokenizer = this.tokenizer?.tokenizer;
    const labels = this.labels ?? undefined;
    const hit = this.encodedRows.get(file);
    const same = hit && hit.model.task === model.task && hit.model.shape.sequenceLength === model.shape.sequenceLength && hit.model.shape.labelCount === model.shape.labelCount;
    if (hit && same && hit.tokenizer === tokenizer && hit.labels === labels) return hit.dataset;
    let dataset: EncodedDataset;
    try {
      dataset = encodeRowsForModel(file.rows, file.fileName, model, tokenizer, labels);
    } catch (err) {
      throw withColumnsNamed(err, file);
    }
    this.encodedRows.set(file, { tokenizer, labels, model, dataset });
    return dataset;
  }

  /** Encodes dev and held-out rows for the loaded architecture; throws a DatasetError naming the file. */
  private encode(): EncodedSplits {
    if (!this.devFile) throw new Error('no dev set loaded');
    const model = this.modelTask();
    const dev = this.encodeCached(this.devFile, model);
    const heldout = this.heldoutFile ? this.encodeCached(this.heldoutFile, model) : null;
    const splits = buildSplits({ devFile: this.devFile.fileName, heldoutFile: this.heldoutFile?.fileName ?? null, dev, heldout, labels: this.labels }, model);
    const tables = tablePreviews({ dev: this.devFile, heldout: this.heldoutFile });
    if (tables) splits.summary.tables = tables;
    return splits;
  }

  /** The Hub id the config.json beside a checkpoint's files names, if one was dropped with it. */
  hubModelIdOf(name: string): string | null {
    const checkpoint = this.checkpoints.find((c) => c.name === name);
    return checkpoint ? (this.hubIds.get(folderOf(checkpoint.files?.[0] ?? checkpoint.name)) ?? null) : null;
  }

  snapshot(): StudioSnapshot {
    const first = this.checkpoints[0]?.model;
    const members = this.population();
    // As the merge layout counts them: the base decides what is merged too (engine.ts prepare).
    const base = this.base();
    const layout = members.length > 0 && members.length + (base ? 1 : 0) > 1 ? mergedLayout([...members, ...(base ? [base] : [])].map((c) => c.model)) : null;
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
            memory: layout
              ? memoryPlan(
                  {
                    parameters: layout.totalSize,
                    models: members.length,
                    graphBytes: Math.max(...this.checkpoints.map((c) => c.bytes.byteLength)),
                    loadedBytes: this.checkpoints.reduce((n, c) => n + heldBytes(c), 0),
                  },
                  this.limits,
                )
              : null,
          }
        : null,
      graph: this.project ? summarizeGraph(this.project) : null,
    };
  }
}

/**
 * Bytes a checkpoint holds: the graph it runs as, the float32 initializers read out of it
 * (readOnnx copies them), and what a safetensors checkpoint keeps for export beside it (the
 * values of the tensors the graph has no place for, and the integer tensors as stored).
 * Its mapped values are only in the graph.
 */
export function heldBytes(c: Checkpoint): number {
  const parsed = floatInitializers(c.model).reduce((n, init) => n + init.floats!.byteLength, 0);
  const kept = c.source ? c.source.unmapped.reduce((n, t) => n + t.data.byteLength, 0) + (c.source.raw ?? []).reduce((n, r) => n + r.bytes.byteLength, 0) : 0;
  return c.bytes.byteLength + parsed + kept;
}

function summarizeCheckpoint(c: Checkpoint, isBase: boolean): CheckpointSummary {
  const floats = floatInitializers(c.model);
  return {
    name: c.name,
    isBase,
    bytes: c.fileBytes ?? c.bytes.byteLength,
    parameterCount: floats.reduce((n, init) => n + init.floats!.length, 0),
    tensorCount: c.source?.shapes.length ?? floats.length,
    dtype: c.source?.dtype ?? 'F32',
    nonFinite: c.nonFinite,
    format: c.source ? 'safetensors' : 'onnx',
    files: c.files ?? [c.name],
  };
}

function folderOf(fileName: string): string {
  const slash = fileName.lastIndexOf('/');
  return slash < 0 ? '' : fileName.slice(0, slash);
}
