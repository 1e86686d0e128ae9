/** Recipe, live progress and the finished run. */
import type { StateCreator } from 'zustand';
import {
  DEFAULT_SETTINGS,
  type ComputePreference,
  type EnvironmentReport,
  type EvolverSettings,
  type GenerationStat,
  type ModelScores,
  type RunResult,
} from '../../engine/types';
import type { StudioState } from '../store';

export type RunStatus = 'idle' | 'running' | 'done' | 'stopped' | 'failed';

export interface RunProgress {
  phase: string;
  generation: number;
  offspringInGeneration: number;
  perGeneration: number;
  offspringDone: number;
  offspringTotal: number;
  accepted: number;
}

export interface RunSlice {
  settings: EvolverSettings;
  preference: ComputePreference;
  environment: EnvironmentReport | null;
  status: RunStatus;
  progress: RunProgress;
  history: GenerationStat[];
  individuals: ModelScores[];
  result: RunResult | null;
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
};

export const createRunSlice: StateCreator<StudioState, [], [], RunSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  preference: 'auto',
  environment: null,
  status: 'idle',
  progress: idleProgress,
  history: [],
  individuals: [],
  result: null,
  runError: null,
  recipeError: null,
  recipeSource: null,
  recovery: null,
  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch }, recipeSource: null })),
  setPreference: (preference) => set({ preference }),
});
