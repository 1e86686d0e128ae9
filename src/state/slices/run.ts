/** Recipe, live progress and the finished run. */
import type { StateCreator } from 'zustand';
import { DEFAULT_SETTINGS, type ComputePreference, type EvolverSettings } from '../../protocol/settings';
import { type EnvironmentReport } from '../../protocol/project';
import { type GenerationStat, type ModelScores, type RunResult } from '../../protocol/results';
import { type OffspringReport } from '../../protocol/events';
import type { StudioState } from '../store';
import { startClock, type RunClock } from '../run-clock';

export type RunStatus = 'idle' | 'running' | 'done' | 'stopped' | 'failed';

/**
 * The status the run panel shows. A paused run keeps status 'running' in the store, so
 * everything that locks while a run is in progress (loading files, removing checkpoints,
 * the settings) stays locked while it is paused; 'paused' is shown on top of it.
 */
export type ShownRunStatus = RunStatus | 'paused';

export function shownRunStatus(status: RunStatus, paused: boolean): ShownRunStatus {
  return status === 'running' && paused ? 'paused' : status;
}

export interface RunProgress {
  phase: string;
  generation: number;
  offspringInGeneration: number;
  perGeneration: number;
  offspringDone: number;
  offspringTotal: number;
  accepted: number;
  /** Active run time (run-clock.ts) when the first and the latest offspring were scored: the ETA's rate. */
  firstOffspringAt: number | null;
  lastOffspringAt: number | null;
  /** Checkpoints scored before the search (or the merge), out of how many; when their scoring began and the latest ended. */
  checkpointsDone: number;
  checkpointsTotal: number;
  checkpointsStartedAt: number | null;
  firstCheckpointAt: number | null;
  lastCheckpointAt: number | null;
  /** A one-shot merge's own evaluation: 1 planned (0 for a search), 1 done once it is scored. */
  mergesTotal: number;
  mergesDone: number;
  /** An offspring's evaluation as a share of a checkpoint's (eta.ts offspringCost). */
  offspringCost: number;
}

export interface RunSlice {
  settings: EvolverSettings;
  preference: ComputePreference;
  environment: EnvironmentReport | null;
  status: RunStatus;
  /** The running search is paused (see ShownRunStatus). */
  paused: boolean;
  /** Whether the run in progress can pause: searches can, a one-shot merge cannot. */
  pausable: boolean;
  clock: RunClock;
  progress: RunProgress;
  /** Every offspring scored in this run, in order: the acceptance chart, scatter and log. */
  offspringScores: OffspringReport[];
  history: GenerationStat[];
  individuals: ModelScores[];
  result: RunResult | null;
  /**
   * The result shown came from this browser's store (reopened): the engine holds no weights for
   * it until they are made again from its journal, which the first export does.
   */
  resultFromStore: boolean;
  runError: string | null;
  /** A recipe field the user is editing does not parse: Start and Merge stay disabled. */
  recipeError: string | null;
  /** The recipe file the settings came from, until the user edits them. */
  recipeSource: string | null;
  /** What the studio did after a fault (engine restarted, run resumed), shown until the next run. */
  recovery: string | null;
  setSettings(patch: Partial<EvolverSettings>): void;
  setPreference(preference: ComputePreference): void;
}

export const idleProgress: RunProgress = {
  phase: '',
  generation: 0,
  offspringInGeneration: 0,
  perGeneration: 0,
  offspringDone: 0,
  offspringTotal: 0,
  accepted: 0,
  firstOffspringAt: null,
  lastOffspringAt: null,
  checkpointsDone: 0,
  checkpointsTotal: 0,
  checkpointsStartedAt: null,
  firstCheckpointAt: null,
  lastCheckpointAt: null,
  mergesTotal: 0,
  mergesDone: 0,
  offspringCost: 1,
};

/** No run and no result: how the studio opens, and what a new project goes back to (the settings stay). */
export const noRun = {
  status: 'idle',
  paused: false,
  pausable: false,
  clock: startClock(0),
  progress: idleProgress,
  offspringScores: [],
  history: [],
  individuals: [],
  result: null,
  resultFromStore: false,
  runError: null,
  recipeError: null,
  recipeSource: null,
  recovery: null,
} satisfies Partial<RunSlice>;

export const createRunSlice: StateCreator<StudioState, [], [], RunSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  preference: 'auto',
  environment: null,
  ...noRun,
  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch }, recipeSource: null })),
  setPreference: (preference) => set({ preference }),
});
