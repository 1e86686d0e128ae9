/** Pairwise kinship of the population (heatmap) and which metric and layer the user looks at. */
import type { StateCreator } from 'zustand';
import type { KinshipMetricName, KinshipReport } from '../../protocol/results';
import type { StudioState } from '../store';

/** The heatmap's layer choice: every merged parameter, or one layer by name. */
export const ALL_LAYERS = '';

export interface KinshipSlice {
  kinship: KinshipReport | null;
  /** Which generation (Top-k: round) the heatmap shows; null = the checkpoints as loaded. */
  kinshipGeneration: number | null;
  kinshipError: string | null;
  kinshipMetric: KinshipMetricName;
  kinshipLayer: string;
  setKinshipView(view: Partial<Pick<KinshipSlice, 'kinshipMetric' | 'kinshipLayer'>>): void;
}

export const createKinshipSlice: StateCreator<StudioState, [], [], KinshipSlice> = (set) => ({
  kinship: null,
  kinshipGeneration: null,
  kinshipError: null,
  kinshipMetric: 'pearson',
  kinshipLayer: ALL_LAYERS,
  setKinshipView: (view) => set(view),
});
