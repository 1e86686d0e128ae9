/**
 * The only module that imports onnxruntime-web (style.md §1). One session per
 * architecture: the checkpoint's merged weights were turned into graph inputs
 * (formats/onnx weightsToInputs), and every run feeds them — Float32Arrays on
 * the WASM path, GPUBuffers via Tensor.fromGpuBuffer on WebGPU, on the same
 * GPUDevice as our kernels (ort.env.webgpu.device is ignored by the /webgpu
 * build; the device must go in the session's executionProviders entry).
 *
 * The CPU path's runtime is a seam (as transformers.js picks onnxruntime-node or
 * onnxruntime-web per platform): Node callers register another runtime with
 * registerCpuRuntime (eval/ort-node.ts registers onnxruntime-node), and every CPU
 * session after that runs on it. The WebGPU path always runs on onnxruntime-web, since
 * it is fed GPUBuffers of our own device. This module never imports a Node package, so
 * the studio's bundle holds onnxruntime-web only.
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

type SessionOptions = ort.InferenceSession.SessionOptions;
type ExecutionProvider = ort.InferenceSession.ExecutionProviderConfig;

/**
 * An onnxruntime build with the common API (onnxruntime-common): its session factory and
 * its Tensor class (tensors are made with the runtime's own class, since each package
 * bundles its own copy of it).
 */
export interface CpuRuntime {
  /** The package and provider, for reports: "onnxruntime-node (cpu)". */
  readonly name: string;
  readonly InferenceSession: { create(model: Uint8Array, options?: SessionOptions): Promise<ort.InferenceSession> };
  readonly Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]) => ort.Tensor;
  /** Execution providers of a CPU-path session, in order of preference. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** Options the runtime adds to each session (e.g. intra-op threads). */
  sessionOptions(): SessionOptions;
  /** False where tensors cannot be views on a SharedArrayBuffer (onnxruntime-node refuses them). */
  readonly takesSharedArrays?: boolean;
}

let threads: number | null = null;
let configured = false;

/** onnxruntime-web's own runtime: WASM (threads only where the page is cross-origin isolated). */
const webRuntime: CpuRuntime = {
  name: 'onnxruntime-web (wasm)',
  InferenceSession: ort.InferenceSession,
  Tensor: ort.Tensor as unknown as CpuRuntime['Tensor'],
  executionProviders: ['wasm'],
  sessionOptions: () => ({}),
};

let cpuRuntime: CpuRuntime = webRuntime;

/** Every later CPU-path session runs on `runtime` (Node: onnxruntime-node). */
export function registerCpuRuntime(runtime: CpuRuntime): void {
  cpuRuntime = runtime;
}

/** Back to onnxruntime-web's WASM backend for CPU-path sessions. */
export function useWebCpuRuntime(): void {
  cpuRuntime = webRuntime;
}

/** The runtime CPU-path sessions run on now. */
export function cpuRuntimeName(): string {
  return cpuRuntime.name;
}

/**
 * Threads per session: the CLI's --threads. onnxruntime-web reads its thread count once, when
 * its WASM module starts (the first session), so a later change reaches new sessions of a
 * registered runtime only; null means the default (the cores where threads are possible).
 */
export function setOrtThreads(count: number | null): void {
  if (count !== null && (!Number.isInteger(count) || count < 1)) throw new RangeError(`threads must be a whole number ≥ 1, got ${count}`);
  threads = count;
}

/**
 * Where onnxruntime-web's WASM files are. Node callers that want its threads set it to the
 * package's dist folder (a file path): its threaded build otherwise looks them up with fetch(),
 * which Node cannot do for files. The studio leaves it to the bundler.
 */
export function setWebWasmPaths(prefix: string): void {
  ort.env.wasm.wasmPaths = prefix;
}

/** The thread count a registered runtime should use: the one set, else `fallback`. */
export function ortThreads(fallback: number): number {
  return threads ?? fallback;
}

function cores(): number {
  return typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
}

/**
 * onnxruntime-web's threads need SharedArrayBuffer: in a page, cross-origin isolation
 * (COOP/COEP, see vite.config.ts); Node has it always, and runs the threads as worker_threads.
 */
function webThreads(): number {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  const isolated = isNode || (typeof globalThis.crossOriginIsolated === 'boolean' && globalThis.crossOriginIsolated);
  if (!isolated) return 1;
  // Node keeps one thread unless asked: the CLI's default runtime is onnxruntime-node, and
  // its fallback here should not start workers nobody asked for (tests run in parallel).
  return threads ?? (isNode ? 1 : cores());
}

function configureOrt(): void {
  if (configured) return;
  configured = true;
  ort.env.logLevel = 'error';
  ort.env.wasm.numThreads = webThreads();
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

async function createSession(modelBytes: Uint8Array, path: ComputePath, device?: GPUDevice): Promise<{ session: ort.InferenceSession; runtime: CpuRuntime }> {
  configureOrt();
  // logSeverityLevel 3 (error): native warnings such as "some nodes were not assigned to the
  // preferred execution providers" (shape ops on CPU, by design) would reach console.error.
  const common: SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  let session: ort.InferenceSession;
  let runtime: CpuRuntime;
  if (path === 'webgpu') {
    runtime = webRuntime;
    session = await ort.InferenceSession.create(modelBytes, { ...common, executionProviders: [{ name: 'webgpu', device } as ExecutionProvider] });
  } else {
    runtime = cpuRuntime;
    session = await runtime.InferenceSession.create(modelBytes, { ...common, ...runtime.sessionOptions(), executionProviders: [...runtime.executionProviders] });
  }
  ortCounters.sessionsCreated++;
  return { session, runtime };
}

function int64Feeds(runtime: CpuRuntime, inputs: Int64Feeds): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(inputs)) feeds[name] = new runtime.Tensor('int64', value.data, value.dims);
  return feeds;
}

/**
 * A session whose runs are chained: ORT rejects concurrent run() calls on one session
 * ("Session already started"), so runs queue up as in transformers.js.
 */
abstract class SerialSession {
  private chain: Promise<unknown> = Promise.resolve();

  protected constructor(
    protected readonly session: ort.InferenceSession,
    protected readonly runtime: CpuRuntime,
  ) {}

  /** The runtime this session runs on, for reports. */
  get runtimeName(): string {
    return this.runtime === webRuntime && this.isGpu ? 'onnxruntime-web (webgpu)' : this.runtime.name;
  }

  protected get isGpu(): boolean {
    return false;
  }

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
  /** Per weight, a private copy of a shared-memory view, for runtimes that refuse those. */
  private readonly privateCopies: (Float32Array | undefined)[] = [];

  private constructor(
    session: ort.InferenceSession,
    runtime: CpuRuntime,
    private readonly weights: readonly WeightSpec[],
    readonly path: ComputePath,
  ) {
    super(session, runtime);
  }

  protected override get isGpu(): boolean {
    return this.path === 'webgpu';
  }

  /** The graph's inputs that are not weights: what a task feeds from the dev set. */
  get dataInputNames(): readonly string[] {
    const weights = new Set(this.weights.map((w) => w.name));
    return this.inputNames.filter((name) => !weights.has(name));
  }

  static async create(params: SessionParams): Promise<WeightFedSession> {
    const { session, runtime } = await createSession(params.modelBytes, params.path, params.device);
    return new WeightFedSession(session, runtime, params.weights, params.path);
  }

  private weightTensor(handle: WeightHandle, spec: WeightSpec): ort.Tensor {
    let tensor = this.tensorCache.get(handle);
    if (!tensor) {
      tensor =
        handle instanceof Float32Array
          ? new this.runtime.Tensor('float32', handle, spec.dims)
          : ort.Tensor.fromGpuBuffer(handle, { dataType: 'float32', dims: spec.dims });
      this.tensorCache.set(handle, tensor);
    }
    return tensor;
  }

  /**
   * The handle as this runtime takes it. A population whose kernels run on threads keeps its
   * weights on a SharedArrayBuffer, which onnxruntime-node refuses: those are copied into one
   * private array per weight, every batch (P floats against a batch's B·L·P multiply-adds),
   * so a copy can never be stale. One more copy of the model in memory, only in that case.
   */
  private takeable(handle: WeightHandle, i: number): WeightHandle {
    if (this.runtime.takesSharedArrays !== false || !(handle instanceof Float32Array) || !(handle.buffer instanceof SharedArrayBuffer)) return handle;
    let copy = this.privateCopies[i];
    if (copy?.length !== handle.length) copy = this.privateCopies[i] = new Float32Array(handle.length);
    copy.set(handle);
    return copy;
  }

  /**
   * Runs one batch. `inputs` are the data inputs (int64, row-major), `weights` the
   * handles in the same order as the session's weight specs. Returns the first output.
   */
  run(inputs: Int64Feeds, weights: readonly WeightHandle[]): Promise<Float32Array> {
    return this.enqueue(async () => {
      const feeds = int64Feeds(this.runtime, inputs);
      this.weights.forEach((spec, i) => (feeds[spec.name] = this.weightTensor(this.takeable(weights[i], i), spec)));
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
    const { session, runtime } = await createSession(modelBytes, 'wasm');
    return new OutputCaptureSession(session, runtime);
  }

  /** Runs one batch and returns the named float32 outputs. */
  run(inputs: Int64Feeds, outputNames: readonly string[]): Promise<Map<string, CapturedTensor>> {
    return this.enqueue(async () => {
      const outputs = await this.session.run(int64Feeds(this.runtime, inputs), [...outputNames]);
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
