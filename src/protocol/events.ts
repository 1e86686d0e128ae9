/**
 * Progress events a run streams to the UI (and the CLI's bar) through a comlink proxy.
 */
import { type GenerationStat, type ModelScores, type KinshipReport, type JournalEntry } from './results';
import { type EnvironmentReport } from './project';

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
  /** Its primary metric (the task's first fitness metric) on the selection rows. */
  score: number;
  /** The primary metric it had to beat: the merged population's ('merged' mode) or its target's; null for Top-k. */
  previousScore: number | null;
  accepted: boolean;
}
