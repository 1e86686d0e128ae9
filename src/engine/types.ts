/**
 * Types shared by the merge engine, its worker wrapper, the UI store and tests.
 * Plain data only: everything here crosses the worker boundary via structured clone.
 */
import type { Scores } from '../eval/metrics';
import type { ColumnChoice, TablePreview } from '../eval/csv';
import type { KinshipReport } from './kinship';
import type { LineageNode } from './kinship-topk';
import type { JournalEntry } from './journal';
import { DEFAULT_MERGE, type MergeParams } from './merge-params';
import type { ExportOptions } from './exports';
import type { MemoryPlan } from './memory-plan';
import type { StreamedSafetensors } from '../formats/safetensors-blob';
import type { MappedTensor } from './graph-mapping';

/** How the Evolver scores a candidate (see shared notes: "with merger" / "without merger"). */
export type SelectionMode = 'merged' | 'individual';

/** Which compute path runs kernels and evaluation. 'auto' = WebGPU unless missing or software. */
export type ComputePreference = 'auto' | 'webgpu' | 'wasm';
export type ComputePath = 'webgpu' | 'wasm';

/** The search: the Evolver (differential evolution over the population) or Top-k greedy merging with model kinship. */
export type SearchStrategy = 'evolver' | 'kinship_topk';

/**
 * How the Evolver builds a mutant for target x_i (each with binomial crossover and j_rand):
 * - 'interpolate': the paper's v = x_i + F·(x_r − x_i) toward one random peer;
 * - 'rand1': DE/rand/1, v = x_r1 + F·(x_r2 − x_r3);
 * - 'best1': DE/best/1, v = x_best + F·(x_r1 − x_r2).
 */
export type MutationStrategy = 'interpolate' | 'rand1' | 'best1';

export const MUTATION_LABELS: Record<MutationStrategy, string> = {
  interpolate: 'Evolver (paper): interpolate toward a peer',
  rand1: 'DE/rand/1',
  best1: 'DE/best/1',
};

export interface EvolverSettings {
  strategy: SearchStrategy;
  mutation: MutationStrategy;
  /** jDE: each individual carries its own F and CR, resampled with probability 0.1 per trial and kept when the trial wins. */
  adaptive: boolean;
  /** Mutation scale F (the starting value under jDE). */
  f: number;
  /** Crossover rate CR: probability that an element takes the mutant value. */
  cr: number;
  generations: number;
  seed: number;
  mode: SelectionMode;
  /** The merger scoring candidates in 'merged' mode (the paper: average, Fisher, RegMean), and Top-k's pair merger. */
  merger: MergeParams;
  /** Most dev evaluations a run may spend, the starting ones included; 0 = no limit (generations bound it). */
  budget: number;
  /** Stop after this many generations (Top-k: rounds) without a better selection score; 0 = never. */
  patience: number;
  /** Select on a fixed, seeded, stratified subset of this many dev rows (0 = all); the result is re-scored on the whole dev split. */
  subset: number;
  /** Top-k kinship merging: how many models the top set keeps. */
  topK: number;
}

export const DEFAULT_SETTINGS: EvolverSettings = {
  strategy: 'evolver',
  mutation: 'interpolate',
  adaptive: false,
  f: 0.5,
  cr: 0.5,
  generations: 3,
  seed: 42,
  mode: 'merged',
  merger: DEFAULT_MERGE,
  budget: 0,
  patience: 0,
  subset: 0,
  topK: 3,
};

/** Why a search ended. */
export type StopReason = 'completed' | 'budget' | 'patience' | 'user' | 'converged';

/** Fitness = dev accuracy, ties broken by macro-F1 (accuracy on a few hundred rows is coarse). */
export interface Fitness {
  accuracy: number;
  macroF1: number;
}

export interface GenerationStat {
  /** Evolver: generation; Top-k: round. 0 = the starting population. */
  generation: number;
  /** Best fitness (accuracy) among what this generation scored: offspring, or the population itself. */
  best: number;
  /** Mean accuracy of what this generation scored. */
  mean: number;
  /** Dev accuracy of the population merged by simple average. */
  merged: number;
  accepted: number;
  evaluated: number;
  /** Dev evaluations spent so far, this generation's included. */
  evaluations: number;
  /**
   * Pearson kinship of task vectors: mean over pairs of the population (Top-k: of the top-k
   * set), the saturation signal, and mean of the best model to its parents (Evolver: the
   * result to the individuals it comes from; Top-k: the best merge to the two it merged).
   */
  kinship?: { population: number; bestToParents: number };
  /** jDE: the population's mean F and CR after this generation. */
  adaptive?: { f: number; cr: number };
}

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
  sequenceLength: number;
  numClasses: number;
  labels: string[];
  devClassBalance: number[];
  heldoutClassBalance: number[];
  domains: string[];
  /** How held-out rows were obtained: a separate file, or a seeded split of the dev file. */
  heldoutSource: 'file' | 'split';
  /** CSV/TSV dev and held-out files: columns, first rows and the column choice, for the preview table. */
  tables?: { dev?: TablePreview; heldout?: TablePreview };
}

export interface FileProblem {
  fileName: string;
  message: string;
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

export interface ModelScores {
  name: string;
  dev: Scores;
  heldout: Scores | null;
}

export interface RunCounters {
  sessionsCreated: number;
  /** Sessions created after the run's first evaluation: must stay 0. */
  sessionsCreatedDuringRun: number;
  /**
   * Bytes our kernels copied GPU→CPU while offspring were made and scored: 0 on WebGPU for
   * the task-vector mergers (no weight byte comes back); SLERP and model stock read 16 bytes
   * of dot products per tensor. (ORT's logits read-back is not counted: it is not weights.)
   */
  gpuBytesReadBackDuringRun: number;
  /** Kinship moments read back during the run (32 bytes per tensor and pair; not weights). */
  kinshipBytesReadBack: number;
  evaluations: number;
  /** Of those, scores replayed from a stored journal (a resumed run) rather than evaluated. */
  replayedEvaluations: number;
  offspring: number;
  accepted: number;
  msPerEvaluation: number;
}

/** Selection on a dev subset: how far its ranking agrees with the whole dev split. */
export interface SubsetReport {
  rows: number;
  devRows: number;
  /** Models scored on both: the loaded checkpoints, the starting point and the result. */
  models: string[];
  /** Pairs of those models ordered the same way by the subset and by the whole dev split. */
  agreeingPairs: number;
  pairs: number;
}

export interface RunResult {
  /** 'evolver': a run of the Evolver; 'kinship_topk': Top-k kinship merging; 'merge': a one-shot merge. */
  strategy: SearchStrategy | 'merge';
  settings: EvolverSettings;
  /** Human-readable merger, e.g. "TIES (density 0.5, λ 1)". */
  mergerLabel: string;
  path: ComputePath;
  stopped: boolean;
  stopReason: StopReason;
  history: GenerationStat[];
  individuals: ModelScores[];
  /** Where the search started: the population merged (Evolver, merge) or the best checkpoint (Top-k). */
  initialMerge: ModelScores;
  final: ModelScores;
  counters: RunCounters;
  /** Pairwise kinship of the population (Top-k: the top-k set) when the run ended. */
  kinship: KinshipReport | null;
  /** Top-k: every model made, with its parents, and the id of the result among them. */
  lineage: { nodes: LineageNode[]; result: number } | null;
  subset: SubsetReport | null;
}

export type ProgressEvent =
  | { type: 'phase'; text: string }
  | { type: 'individual'; scores: ModelScores }
  | ({ type: 'offspring' } & OffspringReport)
  | { type: 'generation'; stat: GenerationStat }
  | { type: 'kinship'; generation: number; report: KinshipReport }
  /** The compute path changed during the run (the GPU device was lost). */
  | { type: 'environment'; report: EnvironmentReport }
  /** A selection score as it is made: store these to resume the run (engine.run's journal). */
  | { type: 'journal'; index: number; entry: JournalEntry };

/** One scored offspring (Top-k: one merge), as the run panel's live charts and log show it. */
export interface OffspringReport {
  generation: number;
  /** 1-based position in its generation. */
  index: number;
  perGeneration: number;
  /** The individual it would replace (its target); null for Top-k's merges. */
  individual: number | null;
  accuracy: number;
  /** The dev accuracy it had to beat: the merged population's ('merged' mode) or its target's; null for Top-k. */
  previousAccuracy: number | null;
  accepted: boolean;
}

export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
}

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
  /** A safetensors file read tensor by tensor from a Blob (engine.addFiles): then `bytes` is empty. */
  streamed?: StreamedSafetensors;
}

/** A file the UI hands over unread (a dropped File): the engine reads it in slices where it can. */
export interface NamedBlob {
  name: string;
  blob: Blob;
}

export function isBlobFile(file: NamedBytes | NamedBlob): file is NamedBlob {
  return 'blob' in file;
}

/** The engine's API; MergeEngine implements it and the UI calls it through comlink. */
export interface EngineApi {
  init(preference: ComputePreference): Promise<EnvironmentReport>;
  addFiles(files: (NamedBytes | NamedBlob)[]): Promise<LoadReport>;
  removeCheckpoint(name: string): Promise<StudioSnapshot>;
  reset(): Promise<StudioSnapshot>;
  setBase(name: string | null): Promise<StudioSnapshot>;
  /** Reads a CSV/TSV dev or held-out file through other columns; a choice that does not fit throws naming the file and changes nothing. */
  setDatasetColumns(fileName: string, choice: ColumnChoice): Promise<StudioSnapshot>;
  /** A search; with a journal of an earlier run of the same settings and files, it resumes that run. */
  run(settings: EvolverSettings, onProgress: (event: ProgressEvent) => void, journal?: readonly JournalEntry[]): Promise<RunResult>;
  /** One-shot merge of the population (no evolution) with the given method. */
  merge(params: MergeParams, onProgress: (event: ProgressEvent) => void): Promise<RunResult>;
  /** Pairwise kinship of the loaded checkpoints (task vectors from the base, else from their mean). */
  kinship(): Promise<KinshipReport>;
  stop(): Promise<void>;
  /** Holds a run before its next score until resume(); the run then ends exactly as an unpaused one. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  exportSafetensors(): Promise<ExportedFile>;
  /** The finished result as safetensors (single or sharded, any dtype), ONNX, recipe, model card or a zip of all. */
  exportFile(options: ExportOptions): Promise<ExportedFile>;
}
