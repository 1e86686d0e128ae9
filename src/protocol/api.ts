/**
 * The engine's API: MergeEngine implements it, the UI calls it through comlink, the CLI and tests
 * directly.
 */
import { type ComputePreference, type EvolverSettings, type MergeParams } from './settings';
import { type RunResult, type KinshipReport, type JournalEntry } from './results';
import { type StudioSnapshot, type LoadReport, type EnvironmentReport, type ColumnChoice } from './project';
import { type ExportedFile, type NamedBytes, type NamedBlob, type ExportOptions } from './files';
import { type ProgressEvent } from './events';

/** The engine's API; MergeEngine implements it and the UI calls it through comlink. */
export interface EngineApi {
  init(preference: ComputePreference): Promise<EnvironmentReport>;
  addFiles(files: (NamedBytes | NamedBlob)[]): Promise<LoadReport>;
  removeCheckpoint(name: string): Promise<StudioSnapshot>;
  reset(): Promise<StudioSnapshot>;
  setBase(name: string | null): Promise<StudioSnapshot>;
  /** Reads a CSV/TSV dev or held-out file through other columns; a choice that does not fit throws naming the file and changes nothing. */
  setDatasetColumns(fileName: string, choice: ColumnChoice): Promise<StudioSnapshot>;
  /** Names the task the checkpoints are scored as (null: guessed from the dev rows and the graph); one that does not fit throws naming the file and changes nothing. */
  setTask(id: string | null): Promise<StudioSnapshot>;
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
