/**
 * Module-level actions that talk to the engine worker and write the store with
 * setState (zustand "practice with no store actions"), so no hook is needed
 * outside React.
 */
import { proxy, transfer, wrap, type Remote } from 'comlink';
import { isBlobFile, type NamedBlob, type NamedBytes } from '../protocol/files';
import { type EngineApi } from '../protocol/api';
import { type EvolverSettings } from '../protocol/settings';
import { type ProgressEvent } from '../protocol/events';
import { useStudioStore } from './store';
import { idleProgress } from './slices/run';
import { activeMs, pauseClock, resumeClock, startClock } from './run-clock';
import { emptySnapshot } from './slices/workspace';
import { looksLikeRecipe, parseRecipe } from '../export/recipe';
import type { JournalEntry } from '../protocol/results';
import type { ColumnChoice } from '../protocol/project';
import { DEFAULT_EXPORT, type ExportOptions } from '../protocol/files';
import {
  clearStoredProject,
  forgetFile,
  storageAvailable,
  storeBase,
  storeColumns,
  storedFiles,
  storedJournal,
  storedProject,
  storeFiles,
  storeJournalEntry,
  storeRunFinished,
  storeRunStart,
} from './project-store';

let engine: Remote<EngineApi> | null = null;
let engineWorker: Worker | null = null;
let initialised: Promise<void> | null = null;

function getEngine(): Remote<EngineApi> {
  if (!engine) {
    const worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    worker.addEventListener('error', (event) => void recoverFromCrash(worker, event.message || 'unknown error'));
    engineWorker = worker;
    engine = wrap<EngineApi>(worker);
  }
  return engine;
}

/**
 * The engine worker died (an uncaught error, a crash in wasm): start a new one, load the
 * files again from this browser's store and, if a run was going, resume it from its stored
 * journal — the population is rebuilt by replay, so only the evaluation in flight is lost.
 */
async function recoverFromCrash(worker: Worker, reason: string): Promise<void> {
  if (worker !== engineWorker) return;
  worker.terminate();
  engine = null;
  engineWorker = null;
  initialised = null;
  const state = useStudioStore.getState();
  const wasRunning = state.status === 'running';
  const notice = `The engine stopped unexpectedly (${reason}) and was restarted`;
  if (state.storage !== 'on') {
    useStudioStore.setState({ status: wasRunning ? 'failed' : state.status, runError: `${notice}; this browser does not store projects, so load the files again.`, snapshot: emptySnapshot });
    return;
  }
  await writes;
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

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Starts the engine on the chosen compute path (once per page, or again when the choice changes). */
export function initEngine(): Promise<void> {
  const preference = useStudioStore.getState().preference;
  initialised = (async () => {
    const environment = await getEngine().init(preference);
    useStudioStore.setState({ environment });
  })();
  return initialised;
}

async function ready(): Promise<Remote<EngineApi>> {
  await (initialised ?? initEngine());
  return getEngine();
}

/**
 * Writes to this browser's project store (project-store.ts) without holding up the UI.
 * Storage failing (quota, private mode) must not stop the work: it is reported once and
 * switched off for the page.
 */
let writes: Promise<void> = Promise.resolve();
function persist(write: () => Promise<void>): void {
  if (useStudioStore.getState().storage !== 'on') return;
  // One queue, so writes land in the order they were made (a run's start before its scores).
  writes = writes
    .then(write)
    .catch((err: unknown) => useStudioStore.setState({ storage: 'off', storageError: `Stopped storing this project in the browser: ${message(err)}` }));
}

/** Sends files to the engine; the ones it accepts are stored (unless they came from the store). */
export async function addFiles(files: (NamedBytes | NamedBlob)[], { store: keep = true }: { store?: boolean } = {}): Promise<void> {
  const store = useStudioStore.getState();
  store.setLoading(true);
  try {
    const api = await ready();
    // The store keeps Blobs: bytes are copied into one here (their buffers are transferred to
    // the worker next); dropped Files are Blobs already, handed over unread to both.
    const copies = keep && store.storage === 'on' ? files.map((f) => (isBlobFile(f) ? f : { name: f.name, blob: new Blob([f.bytes as BlobPart]) })) : [];
    const buffers = files.flatMap((f) => (isBlobFile(f) ? [] : [f.bytes.buffer as ArrayBuffer]));
    const report = await api.addFiles(transfer(files, buffers));
    useStudioStore.setState({
      snapshot: { checkpoints: report.checkpoints, dataset: report.dataset, tokenizer: report.tokenizer, architecture: report.architecture, graph: report.graph },
      problems: report.problems,
      stored: null,
    });
    const accepted = new Set(report.accepted);
    const kept = copies.filter((f) => accepted.has(f.name));
    if (kept.length > 0) persist(() => storeFiles(kept));
    // A dev or held-out file this drop replaced is no longer part of the project: a reload must not bring it back.
    const before = store.snapshot.dataset;
    const after = report.dataset;
    const replaced = after ? [before?.devFile, before?.heldoutFile].filter((n) => n && n !== after.devFile && n !== after.heldoutFile) : [];
    for (const name of replaced) persist(() => forgetFile(name!));
    const base = report.checkpoints.find((c) => c.isBase)?.name ?? null;
    persist(() => storeBase(base));
    await refreshKinship();
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: files.map((f) => f.name).join(', '), message: message(err) }] });
  } finally {
    store.setLoading(false);
  }
}

/** Files from a drop or the picker, named by their path inside the drop (dropped-files.ts). */
export async function addBrowserFiles(list: readonly { path: string; file: File }[]): Promise<void> {
  // JSON files are read here (a recipe sets the run's settings); everything else goes to the
  // engine unread, as Blobs: the worker reads them (safetensors in slices), the page never holds them.
  const files = await Promise.all(list.map(async ({ path, file }) => (/\.json$/i.test(path) ? { name: path, bytes: new Uint8Array(await file.arrayBuffer()) } : { name: path, blob: file as Blob })));
  const data = files.filter((f) => isBlobFile(f) || !applyRecipeFile(f));
  if (data.length > 0) await addFiles(data);
}

/** Data files that are JSON but never recipes: read by the engine. */
const DATA_JSON = /(^|\/)(tokenizer|tokenizer_config|manifest)\.json$/i;

/**
 * If the file is a recipe (the studio's or the CLI's .recipe.json), applies its settings
 * and its base and returns true; a recipe that does not parse is reported by name.
 */
function applyRecipeFile(file: NamedBytes): boolean {
  if (!file.name.toLowerCase().endsWith('.json') || DATA_JSON.test(file.name)) return false;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(file.bytes));
  } catch {
    return false;
  }
  if (!looksLikeRecipe(json)) return false;
  try {
    const recipe = parseRecipe(json, file.name);
    useStudioStore.setState({ settings: recipe.settings, recipeSource: file.name, recipeError: null, problems: [] });
    const { snapshot } = useStudioStore.getState();
    if (recipe.base && snapshot.checkpoints.some((c) => c.name === recipe.base)) void setBase(recipe.base);
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: file.name, message: message(err) }] });
  }
  return true;
}

interface SampleManifest {
  tokenizer: string;
  dev: string;
  heldout?: string;
  /** The manifest's "role": "base" entry becomes the base model (workspace reads the manifest). */
  models: { file: string; role: string }[];
}

/** Loads the bundled sample (public/samples) through the same path as dropped files. */
export async function loadSample(): Promise<void> {
  const base = `${import.meta.env.BASE_URL}samples/`;
  const fetchBytes = async (name: string) => {
    const res = await fetch(base + name);
    if (!res.ok) throw new Error(`samples/${name}: HTTP ${res.status}`);
    return { name, bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  try {
    const manifestFile = await fetchBytes('manifest.json');
    const manifest = JSON.parse(new TextDecoder().decode(manifestFile.bytes)) as SampleManifest;
    const names = [
      manifest.tokenizer,
      manifest.dev,
      ...(manifest.heldout ? [manifest.heldout] : []),
      ...manifest.models.map((m) => m.file),
    ];
    const files = await Promise.all(names.map(fetchBytes));
    await addFiles([manifestFile, ...files]);
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: 'samples', message: message(err) }] });
  }
}

export async function setBase(name: string | null): Promise<void> {
  const snapshot = await (await ready()).setBase(name);
  useStudioStore.setState({ snapshot });
  persist(() => storeBase(name));
  await refreshKinship();
}

/**
 * Reads a CSV/TSV dev or held-out file through other columns. A choice that does not fit is
 * listed under the file's name and changes nothing; a good one clears that file's problem.
 */
export async function setDatasetColumns(fileName: string, choice: ColumnChoice): Promise<void> {
  const others = () => useStudioStore.getState().problems.filter((p) => p.fileName !== fileName);
  try {
    const snapshot = await (await ready()).setDatasetColumns(fileName, choice);
    useStudioStore.setState({ snapshot, problems: others() });
    persist(() => storeColumns(fileName, choice));
  } catch (err) {
    useStudioStore.setState({ problems: [...others(), { fileName, message: message(err) }] });
  }
}

export async function removeCheckpoint(name: string): Promise<void> {
  const snapshot = await (await ready()).removeCheckpoint(name);
  useStudioStore.setState({ snapshot });
  persist(() => forgetFile(name));
  await refreshKinship();
}

/** Kinship of the checkpoints as loaded (the heatmap before any run); cleared below two models. */
async function refreshKinship(): Promise<void> {
  const { snapshot } = useStudioStore.getState();
  if (snapshot.checkpoints.filter((c) => !c.isBase).length < 2) {
    useStudioStore.setState({ kinship: null, kinshipGeneration: null, kinshipError: null });
    return;
  }
  try {
    const kinship = await (await ready()).kinship();
    useStudioStore.setState({ kinship, kinshipGeneration: null, kinshipError: null });
  } catch (err) {
    useStudioStore.setState({ kinship: null, kinshipGeneration: null, kinshipError: message(err) });
  }
}

function onProgress(event: ProgressEvent): void {
  useStudioStore.setState((s) => {
    switch (event.type) {
      case 'phase':
        return { progress: { ...s.progress, phase: event.text } };
      case 'individual':
        return { individuals: [...s.individuals, event.scores] };
      case 'generation':
        return { history: [...s.history, event.stat], progress: { ...s.progress, generation: event.stat.generation } };
      case 'offspring': {
        const { type: _, ...report } = event;
        const at = activeMs(s.clock, performance.now());
        return {
          offspringScores: [...s.offspringScores, report],
          progress: {
            ...s.progress,
            firstOffspringAt: s.progress.firstOffspringAt ?? at,
            lastOffspringAt: at,
            generation: event.generation,
            offspringInGeneration: event.index,
            perGeneration: event.perGeneration,
            offspringDone: s.progress.offspringDone + 1,
            accepted: s.progress.accepted + (event.accepted ? 1 : 0),
          },
        };
      }
      case 'kinship':
        return { kinship: event.report, kinshipGeneration: event.generation };
      case 'journal':
        persist(() => storeJournalEntry(event.index, event.entry));
        return {};
      case 'environment':
        // The run starts over on the new path and replays what it had scored: its charts too.
        return { environment: event.report, history: [], individuals: [], offspringScores: [], progress: { ...s.progress, offspringDone: 0, accepted: 0, firstOffspringAt: null, lastOffspringAt: null } };
    }
  });
}

function beginRun(offspringTotal: number, perGeneration: number, pausable: boolean): void {
  useStudioStore.setState({
    status: 'running',
    paused: false,
    pausable,
    clock: startClock(performance.now()),
    offspringScores: [],
    history: [],
    individuals: [],
    result: null,
    runError: null,
    progress: { ...idleProgress, phase: 'Starting', offspringTotal, perGeneration },
  });
}

/** Offspring (Evolver) the run will make at most; Top-k's merge count is not known up front (0). */
export function plannedOffspring(settings: EvolverSettings, models: number): number {
  if (settings.strategy === 'kinship_topk') return 0;
  const byGenerations = settings.generations * models;
  // The starting evaluations (each model and the merge) come out of the budget first.
  return settings.budget > 0 ? Math.max(0, Math.min(byGenerations, settings.budget - models - 1)) : byGenerations;
}

/** Starts a run; with a journal (from the project store), resumes the run it belongs to. */
export async function startRun(journal: JournalEntry[] = []): Promise<void> {
  const { settings, snapshot } = useStudioStore.getState();
  const n = snapshot.checkpoints.filter((c) => !c.isBase).length;
  beginRun(plannedOffspring(settings, n), n, true);
  if (journal.length === 0) {
    useStudioStore.setState({ recovery: null });
    persist(() => storeRunStart(settings));
  }
  try {
    const result = await (await ready()).run(settings, proxy(onProgress), journal);
    useStudioStore.setState({ result, status: result.stopped ? 'stopped' : 'done' });
  } catch (err) {
    useStudioStore.setState({ status: 'failed', runError: message(err) });
  }
  persist(storeRunFinished);
}

/** What this browser stored of an earlier session, offered when the studio opens empty. */
export async function checkStoredProject(): Promise<void> {
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
  await writes;
  await clearStoredProject();
  useStudioStore.setState(
    projectOpen
      ? { stored: null, storageError: 'Stored data deleted: this project is no longer kept in this browser, so a closed tab cannot resume it.' }
      : { stored: null },
  );
}

/** One-shot merge with the recipe's merger (no evolution). */
export async function startMerge(): Promise<void> {
  beginRun(0, 0, false);
  try {
    const result = await (await ready()).merge(useStudioStore.getState().settings.merger, proxy(onProgress));
    useStudioStore.setState({ result, status: 'done' });
  } catch (err) {
    useStudioStore.setState({ status: 'failed', runError: message(err) });
  }
}

export async function stopRun(): Promise<void> {
  await (await ready()).stop();
  // Stop releases a paused run (engine.stop), so it is no longer paused.
  useStudioStore.setState((s) => ({ paused: false, clock: resumeClock(s.clock, performance.now()) }));
}

/** Holds the run before its next score; the score in flight finishes first. */
export async function pauseRun(): Promise<void> {
  await (await ready()).pause();
  useStudioStore.setState((s) => (s.status === 'running' ? { paused: true, clock: pauseClock(s.clock, performance.now()) } : {}));
}

export async function resumeRun(): Promise<void> {
  await (await ready()).resume();
  useStudioStore.setState((s) => ({ paused: false, clock: resumeClock(s.clock, performance.now()) }));
}

/** Exports the result (safetensors by default; see result-export.ts) and hands it to the browser as a download. */
export async function exportResult(options: Partial<ExportOptions> = {}): Promise<void> {
  try {
    const file = await (await ready()).exportFile({ ...DEFAULT_EXPORT, ...options });
    const url = URL.createObjectURL(new Blob([file.bytes as BlobPart], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = file.fileName;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    useStudioStore.setState({ runError: message(err) });
  }
}
