/** What is loaded (mirrors the worker's Workspace) and the problems found while loading. */
import type { StateCreator } from 'zustand';
import type { FileProblem, StudioSnapshot } from '../../protocol/project';
import type { NamedBlob } from '../../protocol/files';
import type { StoredProjectSummary } from '../project-store';
import type { StudioState } from '../store';

export interface WorkspaceSlice {
  snapshot: StudioSnapshot;
  problems: FileProblem[];
  loading: boolean;
  /** An earlier session this browser stored, offered while nothing is loaded. */
  stored: StoredProjectSummary | null;
  /** Whether the project is being stored in this browser (off when IndexedDB is unavailable or failed). */
  storage: 'on' | 'off';
  storageError: string | null;
  /** Another tab of the studio holds the stored project (its Web Lock): this one neither offers nor stores it. */
  openElsewhere: boolean;
  /** A drop the studio asks about before loading it (files.ts): nothing of it is loaded until answered. */
  dropQuestion: DropQuestion | null;
  setSnapshot(snapshot: StudioSnapshot): void;
  setProblems(problems: FileProblem[]): void;
  setLoading(loading: boolean): void;
}

/**
 * 'replace': some dropped files have the names of loaded checkpoints; 'new-project': none of the
 * dropped checkpoints can join the loaded ones (another architecture or label set), and
 * `reason` says why. The files are kept as Blobs to load them once answered.
 */
export type DropQuestion = { kind: 'replace'; checkpoints: string[]; files: NamedBlob[] } | { kind: 'new-project'; reason: string; files: NamedBlob[] };

export const emptySnapshot: StudioSnapshot = { checkpoints: [], dataset: null, tokenizer: null, architecture: null, graph: null };

export const createWorkspaceSlice: StateCreator<StudioState, [], [], WorkspaceSlice> = (set) => ({
  snapshot: emptySnapshot,
  problems: [],
  loading: false,
  stored: null,
  storage: 'on',
  storageError: null,
  openElsewhere: false,
  dropQuestion: null,
  setSnapshot: (snapshot) => set({ snapshot }),
  setProblems: (problems) => set({ problems }),
  setLoading: (loading) => set({ loading }),
});
