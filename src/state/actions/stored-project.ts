/**
 * This browser's stored project (project-store.ts): offered when the studio opens empty,
 * reloaded or resumed on request, deleted on request, and used to recover after the engine
 * worker crashed. Imports the store, the project store and the actions below it: ./engine,
 * ./persist, ./files, ./workspace, ./run.
 */
import { useStudioStore } from '../store';
import { emptySnapshot } from '../slices/workspace';
import { clearStoredProject, holdProjectLock, storageAvailable, storedFiles, storedJournal, storedProject } from '../project-store';
import { onEngineCrash } from './engine';
import { storedWrites, writesAfter } from './persist';
import { addFiles } from './files';
import { setBase, setDatasetColumns } from './workspace';
import { startRun } from './run';

/**
 * The engine worker died (an uncaught error, a crash in wasm) and ./engine dropped it: start a
 * new one, load the files again from this browser's store and, if a run was going, resume it
 * from its stored journal — the population is rebuilt by replay, so only the evaluation in
 * flight is lost.
 */
async function recoverFromCrash(reason: string): Promise<void> {
  const state = useStudioStore.getState();
  const wasRunning = state.status === 'running';
  const notice = `The engine stopped unexpectedly (${reason}) and was restarted`;
  if (state.storage !== 'on') {
    const why = state.openElsewhere ? 'this tab does not store the project (it is open in another tab)' : 'this browser does not store projects';
    useStudioStore.setState({ status: wasRunning ? 'failed' : state.status, runError: `${notice}; ${why}, so load the files again.`, snapshot: emptySnapshot });
    return;
  }
  await storedWrites();
  const stored = await storedProject();
  useStudioStore.setState({ stored, snapshot: emptySnapshot, runError: null });
  if (wasRunning && stored?.run) {
    useStudioStore.setState({ recovery: `${notice}; the run resumes from its ${stored.run.scores} stored scores.` });
    await resumeStoredRun();
  } else {
    useStudioStore.setState({ recovery: `${notice}; the loaded files were restored.` });
    await reloadStoredFiles();
  }
}

// Registered on load: the UI imports this module (checkStoredProject) before it starts the engine.
onEngineCrash(recoverFromCrash);

/**
 * What this browser stored of an earlier session, offered when the studio opens empty — unless
 * another tab holds the project (its Web Lock): this tab then works without storing anything,
 * and says so.
 */
export async function checkStoredProject(): Promise<void> {
  const locked = holdProjectLock();
  writesAfter(locked);
  if (!(await locked)) {
    useStudioStore.setState({ storage: 'off', storageError: null, openElsewhere: true, stored: null });
    return;
  }
  if (!(await storageAvailable())) {
    useStudioStore.setState({ storage: 'off', storageError: 'This browser does not let the studio store projects: a closed tab cannot be resumed.' });
    return;
  }
  const stored = await storedProject();
  if (useStudioStore.getState().snapshot.checkpoints.length === 0) useStudioStore.setState({ stored });
}

/** Loads the stored files again (and the base), without starting anything. */
export async function reloadStoredFiles(): Promise<void> {
  const stored = useStudioStore.getState().stored;
  await addFiles(await storedFiles(), { store: false });
  if (stored?.base) await setBase(stored.base);
  // Choices of files no longer in use as dev or held-out set (replaced by a later drop) are left alone.
  const tables = useStudioStore.getState().snapshot.dataset?.tables;
  const loaded = new Set([tables?.dev?.fileName, tables?.heldout?.fileName]);
  for (const [fileName, choice] of Object.entries(stored?.columns ?? {})) if (loaded.has(fileName)) await setDatasetColumns(fileName, choice);
}

/** Reloads the stored files and resumes the interrupted run exactly where it stopped. */
export async function resumeStoredRun(): Promise<void> {
  const run = useStudioStore.getState().stored?.run;
  if (!run) return;
  await reloadStoredFiles();
  useStudioStore.setState({ settings: run.settings, recipeSource: null });
  await startRun(await storedJournal());
}

/**
 * Deletes everything this browser stored of the project (files, run, journal); what is loaded
 * stays loaded. With a project open, storing stops for this page too: otherwise the next score
 * would quietly store the project again.
 */
export async function discardStoredProject(): Promise<void> {
  const projectOpen = useStudioStore.getState().snapshot.checkpoints.length > 0;
  if (projectOpen) useStudioStore.setState({ storage: 'off' });
  await storedWrites();
  await clearStoredProject();
  useStudioStore.setState(
    projectOpen
      ? { stored: null, storageError: 'Stored data deleted: this project is no longer kept in this browser, so a closed tab cannot resume it.' }
      : { stored: null },
  );
}
