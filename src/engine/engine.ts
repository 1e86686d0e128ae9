/**
 * MergeEngine: loads checkpoints and data, runs the Evolver on the chosen compute
 * path, exports the result. The worker exposes it through comlink; Node tests
 * and scripts use it directly (style.md §6).
 */
import { weightsToInputs } from '../formats/onnx-rewrite';
import { DatasetEvaluator } from '../eval/evaluator';
import { WeightFedSession, ortCounters } from '../eval/ort';
import { getNavigatorGpu, requestStudioDevice } from '../gpu/device';
import { gpuTransferCounters } from '../gpu/buffers';
import { isBetter, runEvolver } from '../search/evolver';
import { ScoreJournal } from '../search/journal';
import { type JournalEntry } from '../protocol/results';
import { runKinshipTopK } from '../search/kinship-topk';
import { kinshipReport, meanPairwise } from '../search/kinship';
import { type KinshipReport } from '../protocol/results';
import { splitDevHeldout } from '../eval/split';
import { fitnessOf } from '../eval/tasks/registry';
import { subsetDataset } from '../eval/dataset';
import { flattenParameters, mergedLayout, type ParameterLayout } from '../merge/layout';
import { type PopulationStore } from '../population/population';
import { type WeightSetId } from '../protocol/results';
import { DEFAULT_EXPORT, type ExportOptions } from '../protocol/files';
import { exportResultFile } from '../export/result-export';
import { mergePopulation, weightOnlyPopulation } from '../population/make-population';
import { NotReadyError, RunInProgressError } from '../protocol/errors';
import { PauseGate } from '../search/pause-gate';
import { Workspace, type Checkpoint } from '../project/workspace';
import type { MemoryLimits } from '../population/memory-plan';
import { readInputFile } from '../project/input-files';
import type { ColumnChoice } from '../protocol/project';
import { findMethod, prepareInputs } from '../merge/registry';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { describeMerge, methodProblem } from '../merge/params';
import { DEFAULT_SETTINGS } from '../protocol/settings';
import type { ComputePath, ComputePreference, EvolverSettings } from '../protocol/settings';
import type { EngineApi } from '../protocol/api';
import type { EnvironmentReport, LoadReport, FileProblem, StudioSnapshot } from '../protocol/project';
import type { ExportedFile, NamedBlob, NamedBytes } from '../protocol/files';
import type { Fitness, GenerationStat, StopReason, SubsetReport, ModelScores, RunResult } from '../protocol/results';
import type { ProgressEvent } from '../protocol/events';

export { STUDIO_VERSION } from '../export/export-metadata';

interface SessionEntry {
  key: string;
  session: WeightFedSession;
}

interface Prepared {
  members: Checkpoint[];
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
  private environment: EnvironmentReport = { path: 'wasm', reason: 'not initialised', adapter: null, software: false };
  private gpu: { device: GPUDevice; adapter: string; software: boolean } | null = null;
  /** Why the GPU device was lost, once it was (the browser, a driver reset, an out-of-memory). */
  private gpuLost: string | null = null;
  private sessionEntry: SessionEntry | null = null;
  private running = false;
  private stopRequested = false;
  /** Held before each score while the user has paused the run (pause-gate.ts). */
  private readonly gate = new PauseGate();
  private finished: FinishedRun | null = null;

  /**
   * findGpu: where WebGPU comes from. The browser's navigator.gpu by default; Node (the
   * CLI, tests) passes the `webgpu` package's GPU (gpu/node-gpu.ts).
   */
  constructor(private readonly findGpu: () => GPU | null | Promise<GPU | null> = getNavigatorGpu) {}

  /**
   * Chooses the compute path. The GPUDevice is requested once and kept across path
   * changes: the finished population (and so the export) may live on it, and the
   * cached session is keyed by path so switching back reuses both.
   */
  async init(preference: ComputePreference): Promise<EnvironmentReport> {
    const environment = await this.choosePath(preference);
    this.workspace.limits = this.memoryLimits();
    return environment;
  }

  /** What the up-front memory plan checks against on the chosen path (memory-plan.ts). */
  private memoryLimits(): MemoryLimits {
    const limits = this.environment.path === 'webgpu' ? this.gpu?.device.limits : undefined;
    return { path: this.environment.path, maxStorageBufferBindingSize: limits?.maxStorageBufferBindingSize ?? null, maxBufferSize: limits?.maxBufferSize ?? null };
  }

  private async choosePath(preference: ComputePreference): Promise<EnvironmentReport> {
    if (this.running) throw new RunInProgressError();
    if (preference === 'wasm') {
      this.environment = { path: 'wasm', reason: 'WASM path chosen', adapter: this.gpu?.adapter ?? null, software: this.gpu?.software ?? false };
      return this.environment;
    }
    if (!this.gpu) {
      const gpu = await this.findGpu();
      if (!gpu) {
        this.environment = { path: 'wasm', reason: 'WebGPU is not available in this browser', adapter: null, software: false };
        return this.environment;
      }
      try {
        const studio = await requestStudioDevice(gpu);
        const info = studio.adapterInfo;
        const adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
        this.gpu = { device: studio.device, adapter, software: studio.isSoftware };
        this.gpuLost = null;
        void studio.device.lost.then((info) => {
          if (this.gpu?.device !== studio.device) return;
          this.gpuLost = info.message || info.reason || 'unknown reason';
          // Not running: switch now, so the next run starts on the WASM path.
          if (!this.running) {
            this.gpu = null;
            this.environment = { path: 'wasm', reason: `the GPU device was lost (${this.gpuLost})`, adapter, software: studio.isSoftware };
          }
        });
      } catch (err) {
        this.environment = { path: 'wasm', reason: `WebGPU device request failed: ${(err as Error).message}`, adapter: null, software: false };
        return this.environment;
      }
    }
    const { adapter, software } = this.gpu;
    this.environment =
      software && preference === 'auto'
        ? { path: 'wasm', reason: `WebGPU adapter is software (${adapter}): the WASM path is faster`, adapter, software }
        : { path: 'webgpu', reason: preference === 'webgpu' ? 'WebGPU chosen' : 'hardware WebGPU adapter', adapter, software };
    return this.environment;
  }

  /**
   * Files as bytes, or as Blobs (dropped Files, stored projects) that are read here:
   * safetensors tensor by tensor through Blob slices, the rest whole.
   */
  async addFiles(files: (NamedBytes | NamedBlob)[]): Promise<LoadReport> {
    if (this.running) throw new RunInProgressError();
    const problems: FileProblem[] = [];
    const read: NamedBytes[] = [];
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
    this.workspace.limits = this.memoryLimits();
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

  private async sessionFor(checkpoint: Checkpoint, layout: ParameterLayout, path: ComputePath): Promise<WeightFedSession> {
    const key = `${path}|${checkpoint.name}|${layout.slots.map((s) => s.name).join(',')}`;
    if (this.sessionEntry?.key === key) return this.sessionEntry.session;
    await this.sessionEntry?.session.release();
    this.sessionEntry = null;
    const names = new Set(layout.slots.map((s) => s.name));
    const session = await WeightFedSession.create({
      modelBytes: weightsToInputs(checkpoint.bytes, names),
      path,
      device: this.gpu?.device,
      weights: layout.slots.map((s) => ({ name: s.name, dims: s.dims })),
    });
    this.sessionEntry = { key, session };
    return session;
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

  /**
   * Everything a run or a merge needs: the population (without the base) on the chosen
   * path with its merger, the session and the dev / held-out evaluators.
   */
  /**
   * pairSize: models per merge when it is not the whole population (Top-k merges pairs),
   * so a two-model merger such as SLERP is accepted there.
   */
  private async prepare(mergeParams: MergeParams, onProgress: (event: ProgressEvent) => void, pairSize: number | null): Promise<Prepared> {
    const members = this.workspace.population();
    if (members.length < 2) throw new NotReadyError('Load at least two checkpoints of one architecture (besides the base).');
    const splits = this.workspace.splits();
    const base = this.workspace.base();
    const problem = methodProblem(mergeParams, pairSize ?? members.length, base !== null);
    if (problem) throw new NotReadyError(problem);
    onProgress({ type: 'phase', text: 'Preparing population' });
    const layout = mergedLayout(members.map((c) => c.model));
    if (layout.totalSize === 0) throw new NotReadyError('The checkpoints have identical weights: nothing to merge.');
    const flats = members.map((c) => flattenParameters(c.model, layout));
    this.finished?.population.dispose();
    this.finished = null;
    const baseFlat = base ? flattenParameters(base.model, layout) : null;
    // The method's data-aware inputs (RegMean's Gram matrices, Fisher's head Fisher), fixed for the run.
    const inputs = await prepareInputs(mergeParams, { checkpoints: members, layout, dev: splits.dev, onPhase: (text) => onProgress({ type: 'phase', text }) });
    const device = this.environment.path === 'webgpu' && this.gpu !== null ? this.gpu.device : null;
    // The result reports the path that ran (RegMean falls back to the CPU store when a solve needed a ridge).
    const population = mergePopulation({ device, layout, flats, base: baseFlat, params: mergeParams, inputs });
    const session = await this.sessionFor(members[0], layout, population.path);
    return { members, population, dev: new DatasetEvaluator(session, splits.dev), heldout: new DatasetEvaluator(session, splits.heldout) };
  }

  private async scoreMembers(prepared: Prepared, onProgress: (event: ProgressEvent) => void): Promise<ModelScores[]> {
    // Held-out scores are for the report only; selection never sees them.
    onProgress({ type: 'phase', text: 'Scoring the checkpoints' });
    const individuals: ModelScores[] = [];
    for (const [i, member] of prepared.members.entries()) {
      const handles = prepared.population.handles(i);
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
        if (this.environment.path !== 'webgpu' || !this.gpu || !(await settlesWithin(this.gpu.device.lost, 2000))) throw err;
        this.gpuLost ??= 'device lost';
        // The GPU device is gone, and with it the population's buffers: rebuild the population
        // on the WASM path by replaying the scores made so far, and go on there.
        this.environment = { path: 'wasm', reason: `the GPU device was lost (${this.gpuLost}); continuing on the WASM path`, adapter: this.environment.adapter, software: this.environment.software };
        this.gpu = null;
        this.finished = null;
        await this.sessionEntry?.session.release().catch(() => undefined);
        this.sessionEntry = null;
        onProgress({ type: 'environment', report: this.environment });
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
    const names = members.map((m) => m.name);
    const kinship = new KinshipTracker(population, this.workspace.baseName, onProgress);

    const sessionsBefore = ortCounters.sessionsCreated;
    const readBackBefore = gpuTransferCounters.bytesReadBack;
    const started = performance.now();
    const pausedBefore = this.gate.pausedMs;
    const searchPhase = topK ? 'Top-k kinship merging' : 'Evolving';
    onProgress({ type: 'phase', text: searchPhase });
    const scores = new ScoreJournal(journal, (entry, index) => onProgress({ type: 'journal', index, entry }));
    if (journal.length > 0) onProgress({ type: 'phase', text: `Resuming: replaying ${journal.length} stored scores` });
    const score = async (set: WeightSetId) => {
      // onnxruntime-web's WASM runs settle as microtasks, so a run would otherwise never let
      // the worker take a message (Stop) or report an error until it ends: yield once per score.
      await yieldToEventLoop();
      if (await this.gate.pass(() => onProgress({ type: 'phase', text: 'Paused' }))) onProgress({ type: 'phase', text: searchPhase });
      return scores.score(set, () => selection.fitness(population.handles(set)));
    };
    const shouldStop = () => this.stopRequested;
    let outcome: { result: WeightSetId; history: GenerationStat[]; evaluations: number; offspring: number; accepted: number; stopReason: StopReason; selectionStart: Fitness[]; selectionResult: Fitness };
    let initialMerge: ModelScores;
    let lineage: RunResult['lineage'] = null;
    let resultName: string;
    if (topK) {
      const top = await runKinshipTopK(population, names, settings, {
        score,
        onProgress,
        shouldStop,
        kinship: async (sets, setNames, report) => (await kinship.matrix(sets, setNames, report?.round ?? null)).overall,
      });
      lineage = { nodes: top.lineage, result: top.resultNode.id };
      const bestCheckpoint = individuals.reduce((b, m) => (isBetter(fitnessOf(m.dev), fitnessOf(b.dev)) ? m : b));
      initialMerge = { ...bestCheckpoint, name: `best checkpoint (${bestCheckpoint.name})` };
      resultName = `top-k ${top.resultNode.name} (${mergerLabel})`;
      outcome = { ...top, offspring: top.merges, accepted: top.lineage.filter((l) => l.inTopK && l.parents).length, selectionStart: top.seedFitness, selectionResult: top.resultFitness };
    } else {
      await population.merge(null);
      initialMerge = await this.scoreSet(prepared, mergerLabel, 'merged');
      const evolved = await runEvolver(population, settings, {
        score,
        onProgress,
        shouldStop,
        afterGeneration: async (generation, result) => {
          const sets: WeightSetId[] = [...names.keys(), ...(result === 'merged' ? ['merged' as const] : [])];
          const report = await kinship.matrix(sets, [...names, ...(result === 'merged' ? ['merged'] : [])], generation);
          const resultIndex = result === 'merged' ? names.length : (result as number);
          const parents = names.map((_, i) => i).filter((i) => i !== resultIndex);
          return {
            kinship: {
              population: meanPairwise(report.overall, 'pearson', names.map((_, i) => i)),
              bestToParents: mean(parents.map((i) => report.overall[resultIndex]![i]!.pearson).filter((v) => !Number.isNaN(v))),
            },
          };
        },
      });
      resultName = evolved.result === 'merged' ? `evolved merge (${mergerLabel})` : `evolved ${members[evolved.result as number]!.name}`;
      outcome = { ...evolved, selectionStart: [...evolved.initialIndividualFitness, evolved.initialMergeFitness], selectionResult: evolved.resultFitness };
    }
    const elapsed = performance.now() - started - (this.gate.pausedMs - pausedBefore);

    onProgress({ type: 'phase', text: selection === dev ? 'Scoring the result on held-out data' : 'Re-scoring the result on the whole dev split and held-out data' });
    const final = await this.scoreSet(prepared, resultName, outcome.result);
    const report: RunResult = {
      strategy: settings.strategy,
      settings: { ...settings },
      mergerLabel,
      path: population.path,
      stopped: outcome.stopReason === 'user',
      stopReason: outcome.stopReason,
      history: outcome.history,
      individuals,
      initialMerge,
      final,
      counters: {
        sessionsCreated: ortCounters.sessionsCreated,
        sessionsCreatedDuringRun: ortCounters.sessionsCreated - sessionsBefore,
        gpuBytesReadBackDuringRun: gpuTransferCounters.bytesReadBack - readBackBefore - kinship.bytesReadBack,
        kinshipBytesReadBack: kinship.bytesReadBack,
        evaluations: outcome.evaluations,
        replayedEvaluations: scores.replayed,
        offspring: outcome.offspring,
        accepted: outcome.accepted,
        msPerEvaluation: elapsed / Math.max(1, outcome.evaluations - scores.replayed),
      },
      kinship: kinship.last,
      lineage,
      subset:
        selection === dev
          ? null
          : subsetAgreement(
              selection.dataset.size,
              dev.dataset.size,
              [...individuals, ...(topK ? [] : [initialMerge]), final],
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
      const prepared = await this.prepare(params, onProgress, null);
      const individuals = await this.scoreMembers(prepared, onProgress);
      const sessionsBefore = ortCounters.sessionsCreated;
      const started = performance.now();
      onProgress({ type: 'phase', text: `Merging: ${describeMerge(params)}` });
      await prepared.population.merge(null);
      const mergerLabel = describeMerge(params);
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
        counters: {
          sessionsCreated: ortCounters.sessionsCreated,
          sessionsCreatedDuringRun: ortCounters.sessionsCreated - sessionsBefore,
          gpuBytesReadBackDuringRun: 0,
          kinshipBytesReadBack: 0,
          evaluations: 1,
          replayedEvaluations: 0,
          offspring: 0,
          accepted: 0,
          msPerEvaluation: performance.now() - started,
        },
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
    const layout = mergedLayout(members.map((c) => c.model));
    const flats = members.map((c) => flattenParameters(c.model, layout));
    const base = this.workspace.base();
    const baseFlat = base ? flattenParameters(base.model, layout) : null;
    const store = weightOnlyPopulation(this.environment.path === 'webgpu' && this.gpu ? this.gpu.device : null, layout, flats, baseFlat);
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

/** Why these search settings cannot run, or null (numbers come from the UI, a recipe file or the CLI). */
export function settingsProblem(settings: EvolverSettings): string | null {
  const { f, cr, generations, budget, patience, subset, topK } = settings;
  if (!(f > 0 && f <= 2)) return `F must be in (0, 2], got ${f}.`;
  if (!(cr >= 0 && cr <= 1)) return `CR must be in [0, 1], got ${cr}.`;
  for (const [name, value] of Object.entries({ generations, budget, patience, subset, 'top-k': topK })) {
    if (!Number.isInteger(value) || value < 0) return `${name} must be a whole number ≥ 0, got ${value}.`;
  }
  if (settings.strategy === 'kinship_topk') {
    if (topK < 1) return 'Top-k merging keeps at least one model (k ≥ 1).';
    if (settings.merger.weights) return 'Top-k merging merges pairs: per-model weights do not apply.';
    const merger = findMethod(settings.merger.method);
    if (merger?.needs.devData) {
      return `Top-k merging merges merged models again; ${merger.label} needs statistics of the loaded checkpoints only. Choose SLERP, average or a task-vector merger.`;
    }
  }
  return null;
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Lets the event loop run its queued tasks (messages, timers) before going on. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      channel.port2.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** Whether a promise settles within ms. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

/**
 * Kinship during a run: task vectors from the base when one is marked, else from the
 * checkpoints' mean as loaded. Counts its read-back (moments, not weights) apart from the
 * weight counter, and keeps the last report for the result.
 */
class KinshipTracker {
  bytesReadBack = 0;
  last: KinshipReport | null = null;
  private readonly reference: KinshipReport['reference'];

  constructor(
    private readonly store: PopulationStore,
    baseName: string | null,
    private readonly onProgress: (event: ProgressEvent) => void,
  ) {
    this.reference = store.hasBase && baseName ? { kind: 'base', label: `task vectors from ${baseName}` } : { kind: 'population-mean', label: 'task vectors from the mean of the loaded checkpoints (no base marked)' };
  }

  /** The report over some sets; emitted as the heatmap (and kept) when generation is not null. */
  async matrix(sets: readonly WeightSetId[], names: readonly string[], generation: number | null): Promise<KinshipReport> {
    const before = gpuTransferCounters.bytesReadBack;
    const moments = await this.store.kinshipMoments(sets, this.store.hasBase ? 'base' : 'initial-mean');
    this.bytesReadBack += gpuTransferCounters.bytesReadBack - before;
    const report = kinshipReport(names, this.store.layout, moments, this.reference);
    if (generation !== null) {
      this.last = report;
      this.onProgress({ type: 'kinship', generation, report });
    }
    return report;
  }
}

/** How often the subset and the whole dev split order the same pairs of models the same way. */
function subsetAgreement(rows: number, devRows: number, full: readonly ModelScores[], onSubset: readonly Fitness[]): SubsetReport {
  let pairs = 0;
  let agreeingPairs = 0;
  for (let i = 0; i < full.length; i++) {
    for (let j = i + 1; j < full.length; j++) {
      const order = (a: Fitness, b: Fitness) => (isBetter(a, b) ? 1 : isBetter(b, a) ? -1 : 0);
      pairs++;
      if (order(fitnessOf(full[i]!.dev), fitnessOf(full[j]!.dev)) === order(onSubset[i]!, onSubset[j]!)) agreeingPairs++;
    }
  }
  return { rows, devRows, models: full.map((m) => m.name), agreeingPairs, pairs };
}
