/**
 * This browser's stored project (project-store.ts): offered when the studio opens empty,
 * reloaded or resumed on request, deleted on request, and used to recover after the engine
 * worker crashed. Imports the store, the project store and the actions below it: ./engine,
 * ./persist, ./files, ./workspace, ./run.
 */
import { useStudioStore } from '../store';
import type { RunResult } from '../../protocol/results';
import type { EvolverSettings } from '../../protocol/settings';
import { emptySnapshot } from '../slices/workspace';
import { clearStoredProject, holdProjectLock, storageAvailable, storedFiles, storedJournal, storedProject } from '../project-store';
import { onEngineCrash } from './engine';
import { storedWrites, writesAfter } from './persist';
import { addFiles } from './files';
import { setBase, setDatasetColumns } from './workspace';
import { rebuildStoredResult, startRun } from './run';

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
  if (useStudioStore.getState().snapshot.checkpoints.length > 0) return;
  // The form shows what the stored run (or result) was made with, not the defaults.
  const settings = stored?.run?.settings ?? storedSettings(stored?.finished?.result);
  useStudioStore.setState(settings ? { stored, settings, recipeSource: null } : { stored });
}

/** The settings a finished result was made with: a one-shot merge keeps the search's settings and sets the merger. */
function storedSettings(result: RunResult | undefined): EvolverSettings | null {
  if (!result) return null;
  return result.strategy === 'merge' ? { ...useStudioStore.getState().settings, merger: result.settings.merger } : result.settings;
}

/**
 * Reloads the stored files and shows the last finished result as it ended: scores, history,
 * charts and exports. Its weights are not stored: the first export makes them again
 * (rebuildShownResult).
 */
export async function showStoredResult(): Promise<void> {
  const finished = useStudioStore.getState().stored?.finished;
  if (!finished) return;
  await reloadStoredFiles();
  const { result, offspring } = finished;
  useStudioStore.setState({
    settings: storedSettings(result)!,
    recipeSource: null,
    status: result.stopped ? 'stopped' : 'done',
    result,
    resultFromStore: true,
    history: result.history,
    individuals: result.individuals,
    offspringScores: offspring,
    kinship: result.kinship,
    kinshipGeneration: result.kinship ? (result.history.at(-1)?.generation ?? null) : null,
    stored: null,
  });
}

/**
 * A reopened result's weights, made again from its stored journal before its first export.
 * The scores come out as they were stored (one seed reproduces the run); if they do not —
 * the stored files were changed — the rebuilt result is shown instead, and said so.
 */
export async function rebuildShownResult(): Promise<void> {
  const { result } = useStudioStore.getState();
  if (!result) return;
  const rebuilt = await rebuildStoredResult(result, result.strategy === 'merge' ? [] : await storedJournal());
  const same = JSON.stringify(rebuilt.final.dev.metrics) === JSON.stringify(result.final.dev.metrics);
  useStudioStore.setState({
    resultFromStore: false,
    ...(same ? {} : { result: rebuilt, recovery: 'The stored result was made again from its journal, but scores differently now (were the files changed?): the result shown is the one just made.' }),
  });
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
