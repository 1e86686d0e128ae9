/**
 * The only module that imports onnxruntime-web (style.md §1). One session per
 * architecture: the checkpoint's merged weights were turned into graph inputs
 * (formats/onnx weightsToInputs), and every run feeds them — Float32Arrays on
 * the WASM path, GPUBuffers via Tensor.fromGpuBuffer on WebGPU, on the same
 * GPUDevice as our kernels (ort.env.webgpu.device is ignored by the /webgpu
 * build; the device must go in the session's executionProviders entry).
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { ComputePath } from '../protocol/settings';

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

export type Int64Feeds = Record<string, { data: BigInt64Array; dims: number[] }>;

export interface CapturedTensor {
  data: Float32Array;
  dims: number[];
}

/** Raised when a requested output is missing or not float32. */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

async function createSession(modelBytes: Uint8Array, path: ComputePath, device?: GPUDevice): Promise<ort.InferenceSession> {
  configureOrt();
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    path === 'webgpu' ? [{ name: 'webgpu', device } as ort.InferenceSession.ExecutionProviderConfig] : ['wasm'];
  // logSeverityLevel 3 (error): native warnings such as "some nodes were not assigned to the
  // preferred execution providers" (shape ops on CPU, by design) would reach console.error.
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  ortCounters.sessionsCreated++;
  return session;
}

function int64Feeds(inputs: Int64Feeds): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(inputs)) feeds[name] = new ort.Tensor('int64', value.data, value.dims);
  return feeds;
}

/**
 * A session whose runs are chained: ORT rejects concurrent run() calls on one session
 * ("Session already started"), so runs queue up as in transformers.js.
 */
abstract class SerialSession {
  private chain: Promise<unknown> = Promise.resolve();

  protected constructor(protected readonly session: ort.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  protected enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export interface SessionParams {
  modelBytes: Uint8Array;
  path: ComputePath;
  device?: GPUDevice;
  weights: readonly WeightSpec[];
}

/** A session with the evolved weights as graph inputs, fed from CPU arrays or GPU buffers each run. */
export class WeightFedSession extends SerialSession {
  private readonly tensorCache = new WeakMap<object, ort.Tensor>();

  private constructor(
    session: ort.InferenceSession,
    private readonly weights: readonly WeightSpec[],
    readonly path: ComputePath,
  ) {
    super(session);
  }

  /** The graph's inputs that are not weights: what a task feeds from the dev set. */
  get dataInputNames(): readonly string[] {
    const weights = new Set(this.weights.map((w) => w.name));
    return this.inputNames.filter((name) => !weights.has(name));
  }

  static async create(params: SessionParams): Promise<WeightFedSession> {
    const session = await createSession(params.modelBytes, params.path, params.device);
    return new WeightFedSession(session, params.weights, params.path);
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
  run(inputs: Int64Feeds, weights: readonly WeightHandle[]): Promise<Float32Array> {
    return this.enqueue(async () => {
      const feeds = int64Feeds(inputs);
      this.weights.forEach((spec, i) => (feeds[spec.name] = this.weightTensor(weights[i], spec)));
      const outputs = await this.session.run(feeds);
      const first = outputs[this.session.outputNames[0]];
      const data = (await first.getData()) as Float32Array;
      for (const t of Object.values(outputs)) t.dispose();
      return data;
    });
  }
}

/**
 * A WASM session with the weights left in the graph that returns several named outputs
 * per run: activation capture for RegMean's Gram matrices (see eval/gram.ts).
 */
export class OutputCaptureSession extends SerialSession {
  static async create(modelBytes: Uint8Array): Promise<OutputCaptureSession> {
    return new OutputCaptureSession(await createSession(modelBytes, 'wasm'));
  }

  /** Runs one batch and returns the named float32 outputs. */
  run(inputs: Int64Feeds, outputNames: readonly string[]): Promise<Map<string, CapturedTensor>> {
    return this.enqueue(async () => {
      const outputs = await this.session.run(int64Feeds(inputs), [...outputNames]);
      const result = new Map<string, CapturedTensor>();
      try {
        for (const name of outputNames) {
          const t = outputs[name];
          if (!t) throw new CaptureError(`the run returned no output "${name}"`);
          if (t.type !== 'float32') throw new CaptureError(`output "${name}" is ${t.type}, expected float32`);
          result.set(name, { data: (await t.getData()) as Float32Array, dims: [...t.dims] });
        }
      } finally {
        for (const t of Object.values(outputs)) t.dispose();
      }
      return result;
    });
  }
}
