/**
 * Run actions: start an evolution run (or resume one from a stored journal), a one-shot
 * merge, and stop / pause / resume. Progress events from the engine (a comlink proxy)
 * become store updates, and each journal entry is queued for the project store.
 * Imports comlink, the protocol, the store and its slices, the run clock and ETA, the project store
 * and ./engine, ./persist, ./message.
 */
import { proxy } from 'comlink';
import { type EvolverSettings } from '../../protocol/settings';
import { type ProgressEvent } from '../../protocol/events';
import type { JournalEntry, RunResult } from '../../protocol/results';
import { useStudioStore } from '../store';
import { idleProgress } from '../slices/run';
import { activeMs, pauseClock, resumeClock, startClock } from '../run-clock';
import { offspringCost } from '../eta';
import { storeJournalEntry, storeMergeFinished, storeRunFinished, storeRunStart, type FinishedRecord } from '../project-store';
import { ready } from './engine';
import { cmaCandidatesPerGeneration } from '../../search/cma-es-search';
import { persist } from './persist';
import { message } from './message';

function onProgress(event: ProgressEvent): void {
  useStudioStore.setState((s) => {
    switch (event.type) {
      case 'phase': {
        // The checkpoints' scoring starts the clock their rate (and the early ETA) is timed on.
        const scoring = event.text === SCORING_CHECKPOINTS && s.progress.checkpointsStartedAt === null;
        return { progress: { ...s.progress, phase: event.text, ...(scoring ? { checkpointsStartedAt: activeMs(s.clock, performance.now()) } : {}) } };
      }
      case 'individual': {
        const at = activeMs(s.clock, performance.now());
        return {
          individuals: [...s.individuals, event.scores],
          progress: {
            ...s.progress,
            checkpointsDone: s.progress.checkpointsDone + 1,
            checkpointsStartedAt: s.progress.checkpointsStartedAt ?? at,
            firstCheckpointAt: s.progress.firstCheckpointAt ?? at,
            lastCheckpointAt: at,
          },
        };
      }
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
        return { environment: event.report, history: [], individuals: [], offspringScores: [], progress: { ...s.progress, offspringDone: 0, accepted: 0, firstOffspringAt: null, lastOffspringAt: null, checkpointsDone: 0, checkpointsStartedAt: null, firstCheckpointAt: null, lastCheckpointAt: null } };
    }
  });
}

/** The engine's phase while it scores the checkpoints (engine.ts scoreMembers). */
const SCORING_CHECKPOINTS = 'Scoring the checkpoints';

/** What a run will evaluate: its checkpoints, its offspring and (a one-shot merge) the merge. */
interface PlannedWork {
  offspringTotal: number;
  perGeneration: number;
  mergesTotal: number;
}

function beginRun({ offspringTotal, perGeneration, mergesTotal }: PlannedWork, pausable: boolean): void {
  const { snapshot, settings } = useStudioStore.getState();
  const checkpointsTotal = snapshot.checkpoints.filter((c) => !c.isBase).length;
  const dataset = snapshot.dataset;
  const cost = dataset ? offspringCost(dataset.devSize, dataset.heldoutSize, settings.subset) : 1;
  useStudioStore.setState({
    status: 'running',
    paused: false,
    pausable,
    clock: startClock(performance.now()),
    offspringScores: [],
    history: [],
    individuals: [],
    result: null,
    resultFromStore: false,
    runError: null,
    progress: { ...idleProgress, phase: 'Starting', offspringTotal, perGeneration, checkpointsTotal, mergesTotal, offspringCost: cost },
  });
}

/** Candidates a generation scores: one offspring per model (Evolver), CMA-ES's population of recipes. */
function perGeneration(settings: EvolverSettings, models: number): number {
  if (settings.strategy !== 'cma_es') return models;
  try {
    return cmaCandidatesPerGeneration(settings, models);
  } catch {
    // A merger with nothing to search: the run itself refuses it, with the reason.
    return models;
  }
}

/** Offspring (Evolver) the run will make at most; Top-k's merge count is not known up front (0). */
export function plannedOffspring(settings: EvolverSettings, models: number): number {
  if (settings.strategy === 'kinship_topk') return 0;
  // CMA-ES scores its population of recipes each generation; the Evolver one offspring per model.
  const byGenerations = settings.generations * perGeneration(settings, models);
  // The starting evaluations (each model and the merge) come out of the budget first.
  return settings.budget > 0 ? Math.max(0, Math.min(byGenerations, settings.budget - models - 1)) : byGenerations;
}

/** Starts a run; with a journal (from the project store), resumes the run it belongs to. */
export async function startRun(journal: JournalEntry[] = []): Promise<void> {
  const { settings, snapshot } = useStudioStore.getState();
  const n = snapshot.checkpoints.filter((c) => !c.isBase).length;
  beginRun({ offspringTotal: plannedOffspring(settings, n), perGeneration: perGeneration(settings, n), mergesTotal: 0 }, true);
  if (journal.length === 0) {
    useStudioStore.setState({ recovery: null });
    persist(() => storeRunStart(settings));
  }
  try {
    const result = await (await ready()).run(settings, proxy(onProgress), journal);
    useStudioStore.setState({ result, status: result.stopped ? 'stopped' : 'done' });
    const finished = finishedRecord(result);
    persist(() => storeRunFinished(finished));
  } catch (err) {
    useStudioStore.setState({ status: 'failed', runError: message(err) });
    persist(() => storeRunFinished());
  }
}

/** What reopening the project shows of a finished result: it, and the offspring charted on the way. */
function finishedRecord(result: RunResult): FinishedRecord {
  return { result, offspring: useStudioStore.getState().offspringScores, finishedAt: new Date().toISOString() };
}

/** One-shot merge with the recipe's merger (no evolution). */
export async function startMerge(): Promise<void> {
  beginRun({ offspringTotal: 0, perGeneration: 0, mergesTotal: 1 }, false);
  try {
    const result = await (await ready()).merge(useStudioStore.getState().settings.merger, proxy(onProgress));
    // The merge is scored: the bar ends full.
    useStudioStore.setState((s) => ({ result, status: 'done', progress: { ...s.progress, mergesDone: 1 } }));
    const finished = finishedRecord(result);
    persist(() => storeMergeFinished(finished));
  } catch (err) {
    useStudioStore.setState({ status: 'failed', runError: message(err) });
  }
}

/**
 * Makes a reopened result's weights again, without charting anything: a search replays its
 * stored journal (no selection score is evaluated again; the checkpoints and the result are
 * re-scored for the report), a one-shot merge merges again. Deterministic, so the weights are
 * the ones exported before the reload.
 */
export async function rebuildStoredResult(result: RunResult, journal: JournalEntry[]): Promise<RunResult> {
  const engine = await ready();
  const quiet = proxy(() => undefined);
  return result.strategy === 'merge' ? engine.merge(result.settings.merger, quiet) : engine.run(result.settings, quiet, journal);
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
