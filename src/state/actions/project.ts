/**
 * A new project: the engine's workspace emptied, the run and its result closed, and what this
 * browser stored of the old project deleted (a new project is stored from its first file on).
 * The settings stay: a user picks them once. Imports the store and its slices, the project
 * store and ./engine, ./persist.
 */
import { useStudioStore } from '../store';
import { emptySnapshot } from '../slices/workspace';
import { noRun } from '../slices/run';
import { clearStoredProject } from '../project-store';
import { ready } from './engine';
import { persist } from './persist';

export async function startNewProject(): Promise<void> {
  const snapshot = await (await ready()).reset();
  useStudioStore.setState({
    snapshot: snapshot ?? emptySnapshot,
    problems: [],
    stored: null,
    dropQuestion: null,
    ...noRun,
    kinship: null,
    kinshipGeneration: null,
    kinshipError: null,
  });
  persist(clearStoredProject);
}
