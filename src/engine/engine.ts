/**
 * MergeEngine: the facade behind EngineApi. It holds the project (workspace), the compute
 * path and the cached session, and runs searches and one-shot merges on them; the worker
 * exposes it through comlink, the CLI and tests use it directly (style.md §6).
 */
import { DatasetEvaluator, type EvaluationRoute } from '../eval/evaluator';
import { flattenParameters, mergedLayout } from '../merge/layout';
import { findMethod, prepareInputs } from '../merge/registry';
import { baseAsModel } from '../merge/base-as-model';
import { describeMerge, methodProblem } from '../merge/params';
import type { PopulationStore } from '../population/population';
import type { ParameterLayout } from '../merge/layout';
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
import type { Fitness, JournalEntry, KinshipReport, ModelScores, RunResult, WeightSetId } from '../protocol/results';
import { DEFAULT_MERGE, DEFAULT_SETTINGS, type ComputePreference, type EvolverSettings, type MergeParams } from '../protocol/settings';
import { ComputeEnvironment } from './compute-environment';
import { settlesWithin, yieldToEventLoop } from './event-loop';
import { RecipeScratch } from './recipe-scratch';
import { selectionSplit, subsetEvaluator } from './selection-split';
import { RunMeter } from './run-meter';
import { SessionCache } from './session-cache';

export { STUDIO_VERSION } from '../export/export-metadata';
export { settingsProblem } from '../search/settings-problem';

/** Runs work; when it fails, disposes the populations it was to hand over (GPU buffers, kernel threads), then rethrows. */
async function disposingOnFailure<T>(owned: readonly PopulationStore[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    for (const population of owned) {
      try {
        population.dispose();
      } catch {
        // The run's own error is the one to report.
      }
    }
    throw err;
  }
}

interface Prepared {
  /** The checkpoints scored and reported (the base excluded), and their sets in the population. */
  members: Checkpoint[];
  memberSets: number[];
  population: PopulationStore;
  dev: DatasetEvaluator;
  heldout: DatasetEvaluator;
  /** What made the population, so a search can merge the checkpoints again (the validation rule's start, CMA-ES's recipes). */
  source: { device: GPUDevice | null; layout: ParameterLayout; flats: () => Float32Array[]; base: Float32Array | null; params: MergeParams; inputs: unknown };
}

/** The result held for export: its weights (read back on demand) and the report. */
interface FinishedRun {
  layout: ParameterLayout;
  read(): Promise<Float32Array>;
  dispose(): void;
  report: RunResult;
}

/** A population's set as the finished result. */
function finishedSet(population: PopulationStore, result: WeightSetId, report: RunResult): FinishedRun {
  return { layout: population.layout, read: () => population.read(result), dispose: () => population.dispose(), report };
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
  /** Rows per model run (null: the evaluator's default) and where evaluations run (null: here). */
  private evaluation: { batchRows: number | null; route: EvaluationRoute | null } = { batchRows: null, route: null };

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
    this.finished?.dispose();
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

  /** Node only (the CLI's --batch and its queue): rows per model run, and a route every later evaluation goes through. */
  configureEvaluation(options: { batchRows?: number | null; route?: EvaluationRoute | null }): void {
    if (this.running) throw new RunInProgressError();
    this.evaluation = { ...this.evaluation, ...options };
  }

  async setTask(id: string | null): Promise<StudioSnapshot> {
    if (this.running) throw new RunInProgressError();
    this.workspace.setTask(id);
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
  private async prepare(params: MergeParams, onProgress: (event: ProgressEvent) => void, pairSize: number | null, oneShot = false, cpuOnly = false): Promise<Prepared> {
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
    this.finished?.dispose();
    this.finished = null;
    const baseFlat = base ? flattenParameters(base.model, layout) : null;
    // The method's data-aware inputs (RegMean's Gram matrices, Fisher's head Fisher), fixed for the run.
    const inputs = await prepareInputs(mergeParams, { checkpoints: models, layout, dev: splits.dev, onPhase: (text) => onProgress({ type: 'phase', text }) });
    const device = cpuOnly ? null : this.env.device;
    // The result reports the path that ran (RegMean falls back to the CPU store when a solve needed a ridge).
    const population = mergePopulation({ device, layout, flats, base: baseFlat, params: mergeParams, inputs });
    const session = await disposingOnFailure([population], () => this.sessions.sessionFor(members[0], layout, population.path, this.env.gpu?.device, splits.dev.task));
    return {
      members,
      memberSets: merging.positions,
      population,
      dev: new DatasetEvaluator(session, splits.dev, this.evaluation.batchRows ?? undefined, this.evaluation.route),
      heldout: new DatasetEvaluator(session, splits.heldout, this.evaluation.batchRows ?? undefined, this.evaluation.route),
      source: { device, layout, flats: () => models.map((c) => flattenParameters(c.model, layout)), base: baseFlat, params: mergeParams, inputs },
    };
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

  /** Dev, held-out (and, with a validation slice, validation) scores of a set, for the report. */
  private async scoreSet(prepared: Prepared, name: string, set: WeightSetId, handlesOf = (s: WeightSetId) => prepared.population.handles(s), validation: DatasetEvaluator | null = null): Promise<ModelScores> {
    const handles = handlesOf(set);
    const scores: ModelScores = { name, dev: await prepared.dev.score(handles), heldout: await prepared.heldout.score(handles) };
    return validation ? { ...scores, validation: await validation.score(handles) } : scores;
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
    const cma = settings.strategy === 'cma_es';
    const mergerParams = topK || cma || settings.mode === 'merged' ? settings.merger : DEFAULT_MERGE;
    // CMA-ES merges every candidate from the checkpoints with its own recipe on the CPU
    // (recipe-scratch.ts), so its population, session and export stay on the WASM path too.
    const prepared = await this.prepare(mergerParams, onProgress, topK ? 2 : null, false, cma);
    // What this run made, until `finished` holds it: disposed if the run fails (GPU buffers, kernel threads).
    const owned: PopulationStore[] = [prepared.population];
    return disposingOnFailure(owned, async () => {
      const { population, dev, members } = prepared;
      const split = selectionSplit(prepared.dev, settings);
      const selection = settings.subset > 0 && settings.subset < split.selection.dataset.size ? subsetEvaluator(split.selection, settings) : split.selection;
      const validation = split.validation;
      const individuals = await this.scoreMembers(prepared, onProgress);
      const mergerLabel = describeMerge(mergerParams);
      const kinship = new KinshipTracker(population, this.workspace.baseName, onProgress);
      const { source } = prepared;
      const recipes = cma ? new RecipeScratch(source.layout, source.flats(), source.base, source.inputs) : null;
      const handlesOf = (set: WeightSetId) => (recipes && set === 'candidate' ? recipes.views : population.handles(set));

      const meter = new RunMeter(() => this.gate.pausedMs);
      const searchPhase = topK ? 'Top-k kinship merging' : cma ? 'CMA-ES over merge recipes' : 'Evolving';
      onProgress({ type: 'phase', text: searchPhase });
      const scores = new ScoreJournal(journal, (entry, index) => onProgress({ type: 'journal', index, entry }));
      if (journal.length > 0) onProgress({ type: 'phase', text: `Resuming: replaying ${journal.length} stored scores` });
      const gated = async (set: WeightSetId, evaluator: DatasetEvaluator, split?: 'validation'): Promise<Fitness> => {
        // onnxruntime-web's WASM runs settle as microtasks, so a run would otherwise never let
        // the worker take a message (Stop) or report an error until it ends: yield once per score.
        await yieldToEventLoop();
        if (await this.gate.pass(() => onProgress({ type: 'phase', text: 'Paused' }))) onProgress({ type: 'phase', text: searchPhase });
        return scores.score(set, () => evaluator.fitness(handlesOf(set)), split);
      };
      const outcome = await runSearch(population, members.map((m) => m.name), individuals, settings, mergerLabel, {
        score: (set) => gated(set, selection),
        report: (name, set) => this.scoreSet(prepared, name, set, handlesOf, validation),
        onProgress,
        shouldStop: () => this.stopRequested,
        kinship,
        ...(validation ? { validate: (set: WeightSetId) => gated(set, validation, 'validation'), validationRows: { rows: validation.dataset.size, selectionRows: split.selection.dataset.size } } : {}),
        ...(recipes ? { loadRecipe: async (params: MergeParams) => recipes.load(params) } : {}),
      });
      const counters = meter.counters({ ...outcome, replayedEvaluations: scores.replayed, kinshipBytesReadBack: kinship.bytesReadBack });
      if (validation) counters.validationEvaluations = outcome.validationEvaluations;

      onProgress({ type: 'phase', text: selection === dev ? 'Scoring the result on held-out data' : 'Re-scoring the result on the whole dev split and held-out data' });
      let finishedRun: (report: RunResult) => FinishedRun;
      let final: ModelScores;
      if (outcome.exported.kind === 'start-merge') {
        // The validation rule chose the starting merge: merge the checkpoints again as the run began.
        population.dispose();
        const start = mergePopulation({ ...source, flats: source.flats() });
        owned.push(start);
        await start.merge(null);
        final = await this.scoreSet(prepared, outcome.resultName, 'merged', (set) => start.handles(set), validation);
        finishedRun = (report) => finishedSet(start, 'merged', report);
      } else if (recipes) {
        final = await this.scoreSet(prepared, outcome.resultName, 'candidate', handlesOf, validation);
        const weights = recipes.read();
        population.dispose();
        finishedRun = (report) => ({ layout: source.layout, read: async () => weights.slice(), dispose: () => {}, report });
      } else {
        const set = outcome.exported.kind === 'set' ? outcome.exported.set : outcome.result;
        final = await this.scoreSet(prepared, outcome.resultName, set, handlesOf, validation);
        finishedRun = (report) => finishedSet(population, set, report);
      }
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
          selection === split.selection
            ? null
            : subsetAgreement(
                selection.dataset.size,
                dev.dataset.size,
                [...individuals, ...(topK ? [] : [outcome.initialMerge]), final],
                [...outcome.selectionStart, outcome.selectionResult],
              ),
        validation: outcome.validation,
        recipe: outcome.recipe,
      };
      this.finished = finishedRun(report);
      owned.length = 0;
      if (outcome.validation) onProgress({ type: 'phase', text: outcome.validation.message });
      onProgress({ type: 'phase', text: outcome.stopReason === 'user' ? 'Stopped' : 'Done' });
      return report;
    });
  }

  merge(params: MergeParams, onProgress: (event: ProgressEvent) => void): Promise<RunResult> {
    return this.exclusive(async () => {
      const prepared = await this.prepare(params, onProgress, null, true);
      return disposingOnFailure([prepared.population], () => this.mergePrepared(prepared, params, onProgress));
    });
  }

  private async mergePrepared(prepared: Prepared, params: MergeParams, onProgress: (event: ProgressEvent) => void): Promise<RunResult> {
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
    this.finished = finishedSet(prepared.population, 'merged', report);
    onProgress({ type: 'phase', text: 'Done' });
    return report;
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
    const { layout, report } = this.finished;
    const merged = await this.finished.read();
    return exportResultFile({ report, layout, merged }, this.workspace, { ...DEFAULT_EXPORT, ...options });
  }
}
