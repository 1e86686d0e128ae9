/**
 * Which compute path runs kernels and evaluation, and the GPU device behind it. The device is
 * requested once and kept across path changes (the finished population, and so the export, may
 * live on it); a lost device switches the studio to the WASM path, at once when idle, or when
 * the run in flight notices (engine.ts replays it there).
 */
import { getNavigatorGpu, requestStudioDevice } from '../gpu/device';
import type { MemoryLimits } from '../population/memory-plan';
import type { EnvironmentReport } from '../protocol/project';
import type { ComputePreference } from '../protocol/settings';

export interface StudioGpu {
  device: GPUDevice;
  adapter: string;
  software: boolean;
}

export class ComputeEnvironment {
  report: EnvironmentReport = { path: 'wasm', reason: 'not initialised', adapter: null, software: false };
  gpu: StudioGpu | null = null;
  /** Why the GPU device was lost, once it was (the browser, a driver reset, an out-of-memory). */
  lostReason: string | null = null;

  /**
   * findGpu: where WebGPU comes from. The browser's navigator.gpu by default; Node (the CLI,
   * tests) passes the `webgpu` package's GPU (gpu/node-gpu.ts). isRunning: whether a run is in
   * flight (then a lost device is handled by the run).
   */
  constructor(
    private readonly findGpu: () => GPU | null | Promise<GPU | null> = getNavigatorGpu,
    private readonly isRunning: () => boolean = () => false,
  ) {}

  /** The device of the active path: null on the WASM path. */
  get device(): GPUDevice | null {
    return this.report.path === 'webgpu' && this.gpu !== null ? this.gpu.device : null;
  }

  /** What the up-front memory plan checks against on the chosen path (memory-plan.ts). */
  memoryLimits(): MemoryLimits {
    const limits = this.report.path === 'webgpu' ? this.gpu?.device.limits : undefined;
    return { path: this.report.path, maxStorageBufferBindingSize: limits?.maxStorageBufferBindingSize ?? null, maxBufferSize: limits?.maxBufferSize ?? null };
  }

  async choose(preference: ComputePreference): Promise<EnvironmentReport> {
    if (preference === 'wasm') {
      this.report = { path: 'wasm', reason: 'WASM path chosen', adapter: this.gpu?.adapter ?? null, software: this.gpu?.software ?? false };
      return this.report;
    }
    if (!this.gpu) {
      const gpu = await this.findGpu();
      if (!gpu) {
        this.report = { path: 'wasm', reason: 'WebGPU is not available in this browser', adapter: null, software: false };
        return this.report;
      }
      try {
        const studio = await requestStudioDevice(gpu);
        const info = studio.adapterInfo;
        const adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
        this.gpu = { device: studio.device, adapter, software: studio.isSoftware };
        this.lostReason = null;
        void studio.device.lost.then((info) => {
          if (this.gpu?.device !== studio.device) return;
          this.lostReason = info.message || info.reason || 'unknown reason';
          // Not running: switch now, so the next run starts on the WASM path.
          if (!this.isRunning()) {
            this.gpu = null;
            this.report = { path: 'wasm', reason: `the GPU device was lost (${this.lostReason})`, adapter, software: studio.isSoftware };
          }
        });
      } catch (err) {
        this.report = { path: 'wasm', reason: `WebGPU device request failed: ${(err as Error).message}`, adapter: null, software: false };
        return this.report;
      }
    }
    const { adapter, software } = this.gpu;
    this.report =
      software && preference === 'auto'
        ? { path: 'wasm', reason: `WebGPU adapter is software (${adapter}): the WASM path is faster`, adapter, software }
        : { path: 'webgpu', reason: preference === 'webgpu' ? 'WebGPU chosen' : 'hardware WebGPU adapter', adapter, software };
    return this.report;
  }

  /** The run in flight lost its device: go on on the WASM path. */
  fallBackToWasm(): EnvironmentReport {
    this.lostReason ??= 'device lost';
    this.report = { path: 'wasm', reason: `the GPU device was lost (${this.lostReason}); continuing on the WASM path`, adapter: this.report.adapter, software: this.report.software };
    this.gpu = null;
    return this.report;
  }
}
