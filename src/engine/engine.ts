/**
 * MergeEngine: the facade behind EngineApi. It holds the project (workspace), the compute
 * path and the cached session, and runs searches and one-shot merges on them; the worker
 * exposes it through comlink, the CLI and tests use it directly (style.md §6).
 */
import { DatasetEvaluator } from '../eval/evaluator';
import { splitDevHeldout } from '../eval/split';
import { subsetDataset } from '../eval/dataset';
import { flattenParameters, mergedLayout } from '../merge/layout';
import { findMethod, prepareInputs } from '../merge/registry';
import { baseAsModel } from '../merge/base-as-model';
import { describeMerge, methodProblem } from '../merge/params';
import type { PopulationStore } from '../population/population';
import { mergePopulation, weightOnlyPopulation } from '../population/make-population';
import { ScoreJournal } from '../search/journal';
import { KinshipTracker } from '../search/kinship-tracker';
import { PauseGate } from '../search/pause-gate';
import { runSearch } from '../search/run-search';
import { settingsProblem } from '../search/settings-problem';
import { subsetAgreement } from '../search/subset-agreement';
import { Workspace, type Checkpoint } from '../project/workspace';
import { readInputFile, type InputFile } from '../project/input-files';
import { exportResultFile } from '../export/result-export';
import type { EngineApi } from '../protocol/api';
import { NotReadyError, RunInProgressError } from '../protocol/errors';
import type { ProgressEvent } from '../protocol/events';
import { DEFAULT_EXPORT, type ExportedFile, type ExportOptions, type NamedBlob, type NamedBytes } from '../protocol/files';
import type { ColumnChoice, EnvironmentReport, FileProblem, LoadReport, StudioSnapshot } from '../protocol/project';
import type { JournalEntry, KinshipReport, ModelScores, RunResult, WeightSetId } from '../protocol/results';
import { DEFAULT_MERGE, DEFAULT_SETTINGS, type ComputePreference, type EvolverSettings, type MergeParams } from '../protocol/settings';
import { ComputeEnvironment } from './compute-environment';
import { settlesWithin, yieldToEventLoop } from './event-loop';
import { RunMeter } from './run-meter';
import { SessionCache } from './session-cache';

export { STUDIO_VERSION } from '../export/export-metadata';
export { settingsProblem } from '../search/settings-problem';

interface Prepared {
  /** The checkpoints scored and reported (the base excluded), and their sets in the population. */
  members: Checkpoint[];
  memberSets: number[];
  population: PopulationStore;
  dev: DatasetEvaluator;
  heldout: DatasetEvaluator;
}

interface FinishedRun {
  population: PopulationStore;
  result: WeightSetId;
  report: RunResult;
}

export class MergeEngine implements EngineApi {
  private workspace = new Workspace();
  private readonly env: ComputeEnvironment;
  private readonly sessions = new SessionCache();
  private running = false;
  private stopRequested = false;
  /** Held before each score while the user has paused the run (pause-gate.ts). */
  private readonly gate = new PauseGate();
  private finished: FinishedRun | null = null;

  /**
   * findGpu: where WebGPU comes from. The browser's navigator.gpu by default; Node (the
   * CLI, tests) passes the `webgpu` package's GPU (gpu/node-gpu.ts).
   */
  constructor(findGpu?: () => GPU | null | Promise<GPU | null>) {
    this.env = new ComputeEnvironment(findGpu, () => this.running);
  }

  /**
   * Chooses the compute path. The GPUDevice is requested once and kept across path
   * changes: the finished population (and so the export) may live on it, and the
   * cached session is keyed by path so switching back reuses both.
   */
  async init(preference: ComputePreference): Promise<EnvironmentReport> {
    if (this.running) throw new RunInProgressError();
    const environment = await this.env.choose(preference);
    this.workspace.limits = this.env.memoryLimits();
    return environment;
  }

  /**
   * Files as bytes, or as Blobs (dropped Files, stored projects) that are read here:
   * safetensors tensor by tensor through Blob slices, the rest whole.
   */
  async addFiles(files: (NamedBytes | NamedBlob)[]): Promise<LoadReport> {
    if (this.running) throw new RunInProgressError();
    const problems: FileProblem[] = [];
    const read: InputFile[] = [];
    for (const file of files) {
      try {
        read.push(await readInputFile(file));
      } catch (err) {
        const text = (err as Error).message;
        problems.push({ fileName: file.name, message: text.startsWith(file.name) ? text : `${file.name}: could not be read (${text})` });
      }
    }
    const report = this.workspace.addFiles(read);
    return { ...report, problems: [...problems, ...report.problems] };
  }

  async removeCheckpoint(name: string): Promise<StudioSnapshot> {
    if (this.running) throw new RunInProgressError();
    this.workspace.removeCheckpoint(name);
    return this.workspace.snapshot();
  }

  async reset(): Promise<StudioSnapshot> {
    if (this.running) throw new RunInProgressError();
    this.finished?.population.dispose();
    this.finished = null;
    this.workspace = new Workspace();
    this.workspace.limits = this.env.memoryLimits();
    return this.workspace.snapshot();
  }

  async setBase(name: string | null): Promise<StudioSnapshot> {
    if (this.running) throw new RunInProgressError();
    this.workspace.setBase(name);
    return this.workspace.snapshot();
  }

  async setDatasetColumns(fileName: string, choice: ColumnChoice): Promise<StudioSnapshot> {
    if (this.running) throw new RunInProgressError();
    this.workspace.setDatasetColumns(fileName, choice);
    return this.workspace.snapshot();
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    // A paused run must reach its next stop check to end.
    this.gate.resume();
  }

  /** Holds the run before its next score (the score in flight finishes); ignored when nothing runs. */
  async pause(): Promise<void> {
    if (this.running) this.gate.pause();
  }

  async resume(): Promise<void> {
    this.gate.resume();
  }

  /**
   * Everything a run or a merge needs: the population (without the base) on the chosen
   * path with its merger, the session and the dev / held-out evaluators. pairSize: models
   * per merge when it is not the whole population (Top-k merges pairs), so a two-model
   * merger such as SLERP is accepted there. oneShot (a one-shot merge): where the loaded models
   * are one fewer than a method that reads a base as one of its models needs (SLERP of the base
   * and one expert: the base is its t = 0 side, merge/base-as-model.ts), the base joins them.
   * Otherwise the ticked base stays what the studio says it is, the reference of task vectors:
   * linear averages the fine-tuned models only (the CLI follows mergekit's --base instead).
   */
  private async prepare(params: MergeParams, onProgress: (event: ProgressEvent) => void, pairSize: number | null, oneShot = false): Promise<Prepared> {
    const members = this.workspace.population();
    const given = this.workspace.base();
    const method = findMethod(params.method);
    const joins = oneShot && method?.needs.models !== undefined && members.length === method.needs.models - 1;
    const merging = joins && method ? baseAsModel(members, given, method, params) : { models: members, base: given, params, positions: members.map((_, i) => i) };
    const { models, base, params: mergeParams } = merging;
    if (models.length < 2 || members.length < 1) throw new NotReadyError('Load at least two checkpoints of one architecture (besides the base).');
    const splits = this.workspace.splits();
    const problem = methodProblem(mergeParams, pairSize ?? models.length, base !== null);
    if (problem) throw new NotReadyError(problem);
    onProgress({ type: 'phase', text: 'Preparing population' });
    // The base decides what is merged too (a change every member shares is still a change).
    const layout = mergedLayout([...members, ...(given ? [given] : [])].map((c) => c.model));
    if (layout.totalSize === 0) throw new NotReadyError('The checkpoints have identical weights: nothing to merge.');
    const flats = models.map((c) => flattenParameters(c.model, layout));
    this.finished?.population.dispose();
    this.finished = null;
    const baseFlat = base ? flattenParameters(base.model, layout) : null;
    // The method's data-aware inputs (RegMean's Gram matrices, Fisher's head Fisher), fixed for the run.
    const inputs = await prepareInputs(mergeParams, { checkpoints: models, layout, dev: splits.dev, onPhase: (text) => onProgress({ type: 'phase', text }) });
    const device = this.env.device;
    // The result reports the path that ran (RegMean falls back to the CPU store when a solve needed a ridge).
    const population = mergePopulation({ device, layout, flats, base: baseFlat, params: mergeParams, inputs });
    const session = await this.sessions.sessionFor(members[0], layout, population.path, this.env.gpu?.device);
    return { members, memberSets: merging.positions, population, dev: new DatasetEvaluator(session, splits.dev), heldout: new DatasetEvaluator(session, splits.heldout) };
  }

  private async scoreMembers(prepared: Prepared, onProgress: (event: ProgressEvent) => void): Promise<ModelScores[]> {
    // Held-out scores are for the report only; selection never sees them.
    onProgress({ type: 'phase', text: 'Scoring the checkpoints' });
    const individuals: ModelScores[] = [];
    for (const [i, member] of prepared.members.entries()) {
      const handles = prepared.population.handles(prepared.memberSets[i]!);
      const scores = { name: member.name, dev: await prepared.dev.score(handles), heldout: await prepared.heldout.score(handles) };
      individuals.push(scores);
      onProgress({ type: 'individual', scores });
    }
    return individuals;
  }

  private async scoreSet(prepared: Prepared, name: string, set: WeightSetId): Promise<ModelScores> {
    const handles = prepared.population.handles(set);
    return { name, dev: await prepared.dev.score(handles), heldout: await prepared.heldout.score(handles) };
  }

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.running) throw new RunInProgressError();
    this.running = true;
    this.stopRequested = false;
    this.gate.resume();
    try {
      return await work();
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs a search. With `journal` (the scores of an earlier run of the same settings and
   * files, as its 'journal' events gave them), the run first replays them without
   * evaluating, then goes on: it resumes exactly where that run stopped.
   */
  run(settings: EvolverSettings, onProgress: (event: ProgressEvent) => void, journal: readonly JournalEntry[] = []): Promise<RunResult> {
    return this.exclusive(async () => {
      // The scores made so far, so a run that loses its GPU can go on without them.
      const scores = [...journal];
      const recording = (event: ProgressEvent) => {
        if (event.type === 'journal') scores[event.index] = event.entry;
        onProgress(event);
      };
      try {
        return await this.runOnce(settings, recording, journal);
      } catch (err) {
        // A lost device makes the run fail before device.lost has settled: give it a moment.
        const gpu = this.env.gpu;
        if (this.env.report.path !== 'webgpu' || !gpu || !(await settlesWithin(gpu.device.lost, 2000))) throw err;
        // The GPU device is gone, and with it the population's buffers: rebuild the population
        // on the WASM path by replaying the scores made so far, and go on there.
        const report = this.env.fallBackToWasm();
        this.finished = null;
        await this.sessions.release().catch(() => undefined);
        onProgress({ type: 'environment', report });
        onProgress({ type: 'phase', text: `GPU device lost: resuming on the WASM path from ${scores.length} stored scores` });
        return await this.runOnce(settings, recording, scores);
      }
    });
  }

  private async runOnce(settings: EvolverSettings, onProgress: (event: ProgressEvent) => void, journal: readonly JournalEntry[]): Promise<RunResult> {
    const problem = settingsProblem(settings);
    if (problem) throw new NotReadyError(problem);
    const topK = settings.strategy === 'kinship_topk';
    const mergerParams = topK || settings.mode === 'merged' ? settings.merger : DEFAULT_MERGE;
    const prepared = await this.prepare(mergerParams, onProgress, topK ? 2 : null);
    const { population, dev, members } = prepared;
    const selection = settings.subset > 0 && settings.subset < dev.dataset.size ? this.subsetEvaluator(prepared, settings) : dev;
    const individuals = await this.scoreMembers(prepared, onProgress);
    const mergerLabel = describeMerge(mergerParams);
    const kinship = new KinshipTracker(population, this.workspace.baseName, onProgress);

    const meter = new RunMeter(() => this.gate.pausedMs);
    const searchPhase = topK ? 'Top-k kinship merging' : 'Evolving';
    onProgress({ type: 'phase', text: searchPhase });
    const scores = new ScoreJournal(journal, (entry, index) => onProgress({ type: 'journal', index, entry }));
    if (journal.length > 0) onProgress({ type: 'phase', text: `Resuming: replaying ${journal.length} stored scores` });
    const outcome = await runSearch(population, members.map((m) => m.name), individuals, settings, mergerLabel, {
      score: async (set) => {
        // onnxruntime-web's WASM runs settle as microtasks, so a run would otherwise never let
        // the worker take a message (Stop) or report an error until it ends: yield once per score.
        await yieldToEventLoop();
        if (await this.gate.pass(() => onProgress({ type: 'phase', text: 'Paused' }))) onProgress({ type: 'phase', text: searchPhase });
        return scores.score(set, () => selection.fitness(population.handles(set)));
      },
      report: (name, set) => this.scoreSet(prepared, name, set),
      onProgress,
      shouldStop: () => this.stopRequested,
      kinship,
    });
    const counters = meter.counters({ ...outcome, replayedEvaluations: scores.replayed, kinshipBytesReadBack: kinship.bytesReadBack });

    onProgress({ type: 'phase', text: selection === dev ? 'Scoring the result on held-out data' : 'Re-scoring the result on the whole dev split and held-out data' });
    const final = await this.scoreSet(prepared, outcome.resultName, outcome.result);
    const report: RunResult = {
      strategy: settings.strategy,
      settings: { ...settings },
      mergerLabel,
      path: population.path,
      stopped: outcome.stopReason === 'user',
      stopReason: outcome.stopReason,
      history: outcome.history,
      individuals,
      initialMerge: outcome.initialMerge,
      final,
      counters,
      kinship: kinship.last,
      lineage: outcome.lineage,
      subset:
        selection === dev
          ? null
          : subsetAgreement(
              selection.dataset.size,
              dev.dataset.size,
              [...individuals, ...(topK ? [] : [outcome.initialMerge]), final],
              [...outcome.selectionStart, outcome.selectionResult],
            ),
    };
    this.finished = { population, result: outcome.result, report };
    onProgress({ type: 'phase', text: outcome.stopReason === 'user' ? 'Stopped' : 'Done' });
    return report;
  }

  /** A fixed, seeded, stratified subset of the dev split for selection (re-scoring uses all of it). */
  private subsetEvaluator(prepared: Prepared, settings: EvolverSettings): DatasetEvaluator {
    const dev = prepared.dev.dataset;
    const split = splitDevHeldout(dev.size, settings.subset / dev.size, settings.seed >>> 0, prepared.dev.task.strata(dev));
    return new DatasetEvaluator(prepared.dev.session, subsetDataset(dev, split.heldout));
  }

  merge(params: MergeParams, onProgress: (event: ProgressEvent) => void): Promise<RunResult> {
    return this.exclusive(async () => {
      const prepared = await this.prepare(params, onProgress, null, true);
      const individuals = await this.scoreMembers(prepared, onProgress);
      const meter = new RunMeter();
      const mergerLabel = describeMerge(params);
      onProgress({ type: 'phase', text: `Merging: ${mergerLabel}` });
      await prepared.population.merge(null);
      const final = await this.scoreSet(prepared, mergerLabel, 'merged');
      const report: RunResult = {
        strategy: 'merge',
        settings: { ...DEFAULT_SETTINGS, generations: 0, merger: { ...params } },
        mergerLabel,
        path: prepared.population.path,
        stopped: false,
        stopReason: 'completed',
        history: [],
        individuals,
        initialMerge: final,
        final,
        counters: meter.counters({ evaluations: 1, replayedEvaluations: 0, offspring: 0, accepted: 0, kinshipBytesReadBack: 0 }),
        kinship: null,
        lineage: null,
        subset: null,
      };
      this.finished = { population: prepared.population, result: 'merged', report };
      onProgress({ type: 'phase', text: 'Done' });
      return report;
    });
  }

  /** Pairwise kinship of the loaded checkpoints on the active compute path (no dev data needed). */
  async kinship(): Promise<KinshipReport> {
    if (this.running) throw new RunInProgressError();
    const members = this.workspace.population();
    if (members.length < 2) throw new NotReadyError('Load at least two checkpoints of one architecture (besides the base) to compare them.');
    const base = this.workspace.base();
    const layout = mergedLayout([...members, ...(base ? [base] : [])].map((c) => c.model));
    const flats = members.map((c) => flattenParameters(c.model, layout));
    const baseFlat = base ? flattenParameters(base.model, layout) : null;
    const store = weightOnlyPopulation(this.env.device, layout, flats, baseFlat);
    try {
      return await new KinshipTracker(store, this.workspace.baseName, () => {}).matrix(
        members.map((_, i) => i),
        members.map((m) => m.name),
        null,
      );
    } finally {
      store.dispose();
    }
  }

  /** The result as F32 safetensors: every float tensor of the checkpoint, merged ones replaced. */
  async exportSafetensors(): Promise<ExportedFile> {
    return this.exportFile(DEFAULT_EXPORT);
  }

  /** The result as the asked kind of file (result-export.ts); the merged weights are read back once here. */
  async exportFile(options: ExportOptions): Promise<ExportedFile> {
    if (!this.finished) throw new NotReadyError('Run the Evolver before exporting.');
    const { population, result, report } = this.finished;
    const merged = await population.read(result);
    return exportResultFile({ report, layout: population.layout, merged }, this.workspace, { ...DEFAULT_EXPORT, ...options });
  }
}
