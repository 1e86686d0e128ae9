/**
 * The studio's one zustand store, made of slices (zustand slices pattern). It holds
 * ids, summaries, the recipe and progress; weights stay in the engine worker.
 */
import { create } from 'zustand';
import { createRunSlice, type RunSlice } from './slices/run';
import { createWorkspaceSlice, type WorkspaceSlice } from './slices/workspace';
import { createKinshipSlice, type KinshipSlice } from './slices/kinship';

export type StudioState = WorkspaceSlice & RunSlice & KinshipSlice;

export const useStudioStore = create<StudioState>()((...a) => ({
  ...createWorkspaceSlice(...a),
  ...createRunSlice(...a),
  ...createKinshipSlice(...a),
}));
