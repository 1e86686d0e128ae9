/**
 * Types shared by the merge engine, its worker wrapper, the UI store and tests.
 * Plain data only: everything here crosses the worker boundary via structured clone.
 */
import type { Scores } from '../eval/metrics';
import { DEFAULT_MERGE, type MergeParams } from './merge-params';

/** How the Evolver scores a candidate (see shared notes: "with merger" / "without merger"). */
export type SelectionMode = 'merged' | 'individual';

/** Which compute path runs kernels and evaluation. 'auto' = WebGPU unless missing or software. */
export type ComputePreference = 'auto' | 'webgpu' | 'wasm';
export type ComputePath = 'webgpu' | 'wasm';

export interface EvolverSettings {
  /** Mutation scale F: v = x + F·(x_r − x). */
  f: number;
  /** Crossover rate CR: probability that an element takes the mutant value. */
  cr: number;
  generations: number;
  seed: number;
  mode: SelectionMode;
  /** The merger scoring candidates in 'merged' mode (the paper: average, Fisher, RegMean). */
  merger: MergeParams;
}

export const DEFAULT_SETTINGS: EvolverSettings = { f: 0.5, cr: 0.5, generations: 3, seed: 42, mode: 'merged', merger: DEFAULT_MERGE };

/** Fitness = dev accuracy, ties broken by macro-F1 (accuracy on a few hundred rows is coarse). */
export interface Fitness {
  accuracy: number;
  macroF1: number;
}

export interface GenerationStat {
  generation: number;
  /** Best fitness (accuracy) among what this generation scored: offspring, or the population itself. */
  best: number;
  /** Mean accuracy of what this generation scored. */
  mean: number;
  /** Dev accuracy of the population merged by simple average. */
  merged: number;
  accepted: number;
  evaluated: number;
}

export interface CheckpointSummary {
  name: string;
  /** Marked as the base (pre-trained) model: the reference of task vectors, not evolved. */
  isBase: boolean;
  bytes: number;
  parameterCount: number;
  tensorCount: number;
  dtype: string;
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
}

export interface FileProblem {
  fileName: string;
  message: string;
}

export interface StudioSnapshot {
  checkpoints: CheckpointSummary[];
  dataset: DatasetSummary | null;
  tokenizer: string | null;
  /** mergedTensors: float tensors that differ across the checkpoints (the ones evolved). */
  architecture: { inputs: string[]; outputs: string[]; opset: number; mergedTensors: number } | null;
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
  evaluations: number;
  offspring: number;
  accepted: number;
  msPerEvaluation: number;
}

export interface RunResult {
  /** 'evolver': a run of the Evolver; 'merge': a one-shot merge (no evolution). */
  strategy: 'evolver' | 'merge';
  settings: EvolverSettings;
  /** Human-readable merger, e.g. "TIES (density 0.5, λ 1)". */
  mergerLabel: string;
  path: ComputePath;
  stopped: boolean;
  history: GenerationStat[];
  individuals: ModelScores[];
  initialMerge: ModelScores;
  final: ModelScores;
  counters: RunCounters;
}

export type ProgressEvent =
  | { type: 'phase'; text: string }
  | { type: 'individual'; scores: ModelScores }
  | { type: 'offspring'; generation: number; index: number; perGeneration: number; accuracy: number; accepted: boolean }
  | { type: 'generation'; stat: GenerationStat };

export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
}

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** The engine's API; MergeEngine implements it and the UI calls it through comlink. */
export interface EngineApi {
  init(preference: ComputePreference): Promise<EnvironmentReport>;
  addFiles(files: NamedBytes[]): Promise<LoadReport>;
  removeCheckpoint(name: string): Promise<StudioSnapshot>;
  reset(): Promise<StudioSnapshot>;
  setBase(name: string | null): Promise<StudioSnapshot>;
  run(settings: EvolverSettings, onProgress: (event: ProgressEvent) => void): Promise<RunResult>;
  /** One-shot merge of the population (no evolution) with the given method. */
  merge(params: MergeParams, onProgress: (event: ProgressEvent) => void): Promise<RunResult>;
  stop(): Promise<void>;
  exportSafetensors(): Promise<ExportedFile>;
}
