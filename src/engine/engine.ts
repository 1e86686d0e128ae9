/**
 * MergeEngine: loads checkpoints and data, runs the Evolver on the chosen compute
 * path, exports the result. The worker exposes it through comlink; Node tests
 * and scripts use it directly (style.md §6).
 */
import { weightsToInputs } from '../formats/onnx';
import { writeSafetensors } from '../formats/safetensors';
import { DatasetEvaluator } from '../eval/evaluator';
import { WeightFedSession, ortCounters } from '../eval/ort';
import type { Scores } from '../eval/metrics';
import { getNavigatorGpu, requestStudioDevice } from '../gpu/device';
import { gpuTransferCounters } from '../gpu/buffers';
import { CpuPopulation } from './cpu-population';
import { GpuPopulation } from './gpu-population';
import { runEvolver } from './evolver';
import { floatInitializers, flattenParameters, mergedLayout, type ParameterLayout } from './layout';
import type { PopulationStore, WeightSetId } from './population';
import { NotReadyError, RunInProgressError } from './errors';
import { Workspace } from './workspace';
import type {
  ComputePath,
  ComputePreference,
  EngineApi,
  EnvironmentReport,
  EvolverSettings,
  ExportedFile,
  LoadReport,
  ModelScores,
  NamedBytes,
  ProgressEvent,
  RunResult,
  StudioSnapshot,
} from './types';

export const STUDIO_VERSION = '0.1.0';

interface SessionEntry {
  key: string;
  session: WeightFedSession;
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
  private sessionEntry: SessionEntry | null = null;
  private running = false;
  private stopRequested = false;
  private finished: FinishedRun | null = null;

  /**
   * Chooses the compute path. The GPUDevice is requested once and kept across path
   * changes: the finished population (and so the export) may live on it, and the
   * cached session is keyed by path so switching back reuses both.
   */
  async init(preference: ComputePreference): Promise<EnvironmentReport> {
    if (this.running) throw new RunInProgressError();
    if (preference === 'wasm') {
      this.environment = { path: 'wasm', reason: 'WASM path chosen', adapter: this.gpu?.adapter ?? null, software: this.gpu?.software ?? false };
      return this.environment;
    }
    if (!this.gpu) {
      const gpu = getNavigatorGpu();
      if (!gpu) {
        this.environment = { path: 'wasm', reason: 'WebGPU is not available in this browser', adapter: null, software: false };
        return this.environment;
      }
      try {
        const studio = await requestStudioDevice(gpu);
        const info = studio.adapterInfo;
        const adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
        this.gpu = { device: studio.device, adapter, software: studio.isSoftware };
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

  async addFiles(files: NamedBytes[]): Promise<LoadReport> {
    if (this.running) throw new RunInProgressError();
    return this.workspace.addFiles(files);
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
    return this.workspace.snapshot();
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
  }

  private async sessionFor(layout: ParameterLayout, path: ComputePath): Promise<WeightFedSession> {
    const checkpoint = this.workspace.checkpoints[0];
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

  async run(settings: EvolverSettings, onProgress: (event: ProgressEvent) => void): Promise<RunResult> {
    if (this.running) throw new RunInProgressError();
    const checkpoints = this.workspace.checkpoints;
    if (checkpoints.length < 2) throw new NotReadyError('Load at least two checkpoints of one architecture.');
    const splits = this.workspace.splits();
    this.running = true;
    this.stopRequested = false;
    try {
      onProgress({ type: 'phase', text: 'Preparing population' });
      const layout = mergedLayout(checkpoints.map((c) => c.model));
      if (layout.totalSize === 0) throw new NotReadyError('The checkpoints have identical weights: nothing to merge.');
      const path = this.environment.path;
      const flats = checkpoints.map((c) => flattenParameters(c.model, layout));
      this.finished?.population.dispose();
      this.finished = null;
      const population: PopulationStore =
        path === 'webgpu' && this.gpu ? new GpuPopulation(this.gpu.device, layout, flats) : new CpuPopulation(layout, flats);
      const session = await this.sessionFor(layout, population.path);
      const dev = new DatasetEvaluator(session, splits.dev);
      const heldout = new DatasetEvaluator(session, splits.heldout);

      // Held-out scores are for the report only; selection never sees them.
      onProgress({ type: 'phase', text: 'Scoring the checkpoints' });
      const individuals: ModelScores[] = [];
      for (let i = 0; i < checkpoints.length; i++) {
        const scores = { name: checkpoints[i].name, dev: await dev.score(population.handles(i)), heldout: await heldout.score(population.handles(i)) };
        individuals.push(scores);
        onProgress({ type: 'individual', scores });
      }
      population.mergeMean(null);
      const initialMerge: ModelScores = { name: 'simple average', dev: await dev.score(population.handles('merged')), heldout: await heldout.score(population.handles('merged')) };

      const sessionsBefore = ortCounters.sessionsCreated;
      const readBackBefore = gpuTransferCounters.bytesReadBack;
      const started = performance.now();
      const devScores = new Map<WeightSetId, Scores>();
      onProgress({ type: 'phase', text: 'Evolving' });
      const outcome = await runEvolver(population, settings, {
        score: async (set) => {
          const s = await dev.score(population.handles(set));
          devScores.set(set, s);
          return s;
        },
        onProgress,
        shouldStop: () => this.stopRequested,
      });
      const elapsed = performance.now() - started;
      const counters = {
        sessionsCreated: ortCounters.sessionsCreated,
        sessionsCreatedDuringRun: ortCounters.sessionsCreated - sessionsBefore,
        weightBytesReadBackDuringRun: gpuTransferCounters.bytesReadBack - readBackBefore,
        evaluations: outcome.evaluations,
        offspring: outcome.offspring,
        accepted: outcome.accepted,
        msPerEvaluation: elapsed / Math.max(1, outcome.evaluations),
      };

      onProgress({ type: 'phase', text: 'Scoring the result on held-out data' });
      const finalDev = await dev.score(population.handles(outcome.result));
      const final: ModelScores = {
        name: outcome.result === 'merged' ? 'evolved merge (average)' : `evolved ${checkpoints[outcome.result as number].name}`,
        dev: finalDev,
        heldout: await heldout.score(population.handles(outcome.result)),
      };
      const report: RunResult = {
        settings: { ...settings },
        path: population.path,
        stopped: outcome.stopped,
        history: outcome.history,
        individuals,
        initialMerge,
        final,
        counters,
      };
      this.finished = { population, result: outcome.result, report };
      onProgress({ type: 'phase', text: outcome.stopped ? 'Stopped' : 'Done' });
      return report;
    } finally {
      this.running = false;
    }
  }

  /** The result as F32 safetensors: every float tensor of the checkpoint, merged ones replaced. */
  async exportSafetensors(): Promise<ExportedFile> {
    if (!this.finished) throw new NotReadyError('Run the Evolver before exporting.');
    const { population, result, report } = this.finished;
    const merged = await population.read(result);
    const bySlot = new Map(population.layout.slots.map((s) => [s.name, merged.subarray(s.offset, s.offset + s.size)]));
    const tensors = floatInitializers(this.workspace.checkpoints[0].model).map((init) => ({
      name: init.name,
      shape: init.dims,
      data: bySlot.get(init.name) ?? init.floats!,
    }));
    const metadata: Record<string, string> = {
      format: 'pt',
      producer: `evolver-studio ${STUDIO_VERSION}`,
      recipe: JSON.stringify({ strategy: 'evolver', ...report.settings, sources: report.individuals.map((m) => m.name) }),
      seed: String(report.settings.seed),
      sources: report.individuals.map((m) => m.name).join(','),
      dev_accuracy: String(report.final.dev.accuracy),
      dev_macro_f1: String(report.final.dev.macroF1),
      heldout_accuracy: String(report.final.heldout?.accuracy ?? ''),
      compute_path: report.path,
    };
    const bytes = writeSafetensors(tensors, metadata);
    return { fileName: `evolved-seed${report.settings.seed}.safetensors`, bytes };
  }
}
