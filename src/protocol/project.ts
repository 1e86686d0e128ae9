/**
 * What the studio shows of a project: checkpoints, graph mapping, dataset, memory plan, problems
 * and the compute environment. Plain data.
 */
import { type ComputePath } from './settings';

export interface CheckpointSummary {
  name: string;
  /** Marked as the base (pre-trained) model: the reference of task vectors, not evolved. */
  isBase: boolean;
  bytes: number;
  parameterCount: number;
  tensorCount: number;
  dtype: string;
  /** NaN and ±Inf weights (0 for a healthy checkpoint): merging would spread them. */
  nonFinite: number;
  /** An ONNX checkpoint, or safetensors tensors run on the project's graph (StudioSnapshot.graph). */
  format: 'onnx' | 'safetensors';
  /** The files it came from (a sharded checkpoint: its index and shards). */
  files: string[];
}

/** The ONNX graph safetensors checkpoints run on, and which tensor feeds which initializer. */
export interface GraphSummary {
  file: string;
  /** The checkpoint whose values matched the graph's (renamed tensors were found in it). */
  reference: string | null;
  mapped: MappedTensor[];
  /** Graph initializers no tensor feeds: every checkpoint keeps the graph's values there. */
  unmappedInitializers: string[];
  /** Checkpoint tensors with no place in the graph: exported from the first model unchanged. */
  unmappedTensors: string[];
}

export interface DatasetSummary {
  devFile: string;
  heldoutFile: string | null;
  devSize: number;
  heldoutSize: number;
  /** The task the checkpoints were detected as (eval/tasks/registry): it names the metrics. */
  task: string;
  sequenceLength: number;
  /** Names of the model's labels (index = label), empty for a task without labels. */
  labels: string[];
  /** Rows per label (the task's strata summary), dev and held-out; empty for a task without labels. */
  devBalance: number[];
  heldoutBalance: number[];
  domains: string[];
  /** How held-out rows were obtained: a separate file, or a seeded split of the dev file. */
  heldoutSource: 'file' | 'split';
  /** CSV/TSV dev and held-out files: columns, first rows and the column choice, for the preview table. */
  tables?: { dev?: TablePreview; heldout?: TablePreview };
}

export interface FileProblem {
  fileName: string;
  message: string;
  /** A readable checkpoint of another architecture than the loaded ones: it could start a project of its own. */
  mismatch?: true;
}

export interface StudioSnapshot {
  checkpoints: CheckpointSummary[];
  dataset: DatasetSummary | null;
  tokenizer: string | null;
  /**
   * mergedTensors / mergedParameters: float tensors (and their values) that differ across the
   * checkpoints, the ones evolved; populationBytes: what a run holds of them (see workspace.ts).
   */
  architecture: { inputs: string[]; outputs: string[]; opset: number; mergedTensors: number; mergedParameters: number; populationBytes: number; memory: MemoryPlan | null } | null;
  /** Set when safetensors checkpoints are loaded. */
  graph: GraphSummary | null;
}

export interface LoadReport extends StudioSnapshot {
  accepted: string[];
  problems: FileProblem[];
}

export interface EnvironmentReport {
  path: ComputePath;
  reason: string;
  adapter: string | null;
  software: boolean;
}

export interface MappedTensor {
  initializer: string;
  tensor: string;
  /** The graph holds the tensor transposed (2-D, dims reversed). */
  transposed: boolean;
  how: 'name' | 'value';
}

/** Which column (0-based index into the header) holds what. Indices, not names: header cells may repeat or be empty. */
export interface ColumnChoice {
  text: number;
  label: number;
  domain?: number;
}

/** What the UI shows of a table: its columns, its first rows (cells cut short) and the current choice. */
export interface TablePreview {
  fileName: string;
  columns: string[];
  rows: string[][];
  rowCount: number;
  choice: ColumnChoice;
}

export interface MemoryPlan {
  /** Population (models + 3 weight sets) on the active path. */
  populationBytes: number;
  /** What the ORT WASM heap must hold on the WASM path: the graph and one set of weights fed to it. */
  wasmHeapBytes: number;
  /** What the engine worker holds in JS memory: the checkpoints, plus the population on the WASM path. */
  workerBytes: number;
  /** Why a run will not fit, each with its numbers; empty when it fits. */
  problems: string[];
}
