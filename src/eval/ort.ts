/**
 * The only module that imports onnxruntime-web (style.md §1). One session per
 * architecture: the checkpoint's merged weights were turned into graph inputs
 * (formats/onnx weightsToInputs), and every run feeds them — Float32Arrays on
 * the WASM path, GPUBuffers via Tensor.fromGpuBuffer on WebGPU, on the same
 * GPUDevice as our kernels (ort.env.webgpu.device is ignored by the /webgpu
 * build; the device must go in the session's executionProviders entry).
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { ComputePath } from '../engine/types';

export interface WeightSpec {
  name: string;
  dims: number[];
}

export type WeightHandle = Float32Array | GPUBuffer;

/** Counts every session this process creates: the engine proves "one per architecture" with it. */
export const ortCounters = { sessionsCreated: 0 };

let configured = false;
function configureOrt(): void {
  if (configured) return;
  configured = true;
  ort.env.logLevel = 'error';
  const isolated = typeof globalThis.crossOriginIsolated === 'boolean' && globalThis.crossOriginIsolated;
  const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
  // Threads need SharedArrayBuffer (cross-origin isolation); Node runs single-threaded.
  ort.env.wasm.numThreads = isolated ? Math.max(1, Math.min(4, cores)) : 1;
}

export interface SessionParams {
  modelBytes: Uint8Array;
  path: ComputePath;
  device?: GPUDevice;
  weights: readonly WeightSpec[];
}

/**
 * A session plus the weight-feeding logic. ORT rejects concurrent run() calls on one
 * session ("Session already started"), so runs are chained like transformers.js does.
 */
export class WeightFedSession {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly tensorCache = new WeakMap<object, ort.Tensor>();

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly weights: readonly WeightSpec[],
    readonly path: ComputePath,
  ) {}

  static async create(params: SessionParams): Promise<WeightFedSession> {
    configureOrt();
    const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
      params.path === 'webgpu' ? [{ name: 'webgpu', device: params.device } as ort.InferenceSession.ExecutionProviderConfig] : ['wasm'];
    // logSeverityLevel 3 (error): native warnings such as "some nodes were not assigned to the
    // preferred execution providers" (shape ops on CPU, by design) would reach console.error.
    const session = await ort.InferenceSession.create(params.modelBytes, {
      executionProviders,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    ortCounters.sessionsCreated++;
    return new WeightFedSession(session, params.weights, params.path);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  private weightTensor(handle: WeightHandle, spec: WeightSpec): ort.Tensor {
    let tensor = this.tensorCache.get(handle);
    if (!tensor) {
      tensor =
        handle instanceof Float32Array
          ? new ort.Tensor('float32', handle, spec.dims)
          : ort.Tensor.fromGpuBuffer(handle, { dataType: 'float32', dims: spec.dims });
      this.tensorCache.set(handle, tensor);
    }
    return tensor;
  }

  /**
   * Runs one batch. `inputs` are the data inputs (int64, row-major), `weights` the
   * handles in the same order as the session's weight specs. Returns the first output.
   */
  run(inputs: Record<string, { data: BigInt64Array; dims: number[] }>, weights: readonly WeightHandle[]): Promise<Float32Array> {
    const next = this.chain.then(async () => {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, value] of Object.entries(inputs)) feeds[name] = new ort.Tensor('int64', value.data, value.dims);
      this.weights.forEach((spec, i) => (feeds[spec.name] = this.weightTensor(weights[i], spec)));
      const outputs = await this.session.run(feeds);
      const first = outputs[this.session.outputNames[0]];
      const data = (await first.getData()) as Float32Array;
      for (const t of Object.values(outputs)) t.dispose();
      return data;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
