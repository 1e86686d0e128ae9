/**
 * onnxruntime-node as the CPU-path runtime of Node callers (the CLI, benchmarks): the
 * native build runs the same graphs several times faster than onnxruntime-web's WASM
 * (MLAS with AVX2/AVX-512, real threads). Node-only: nothing the studio bundles imports
 * this module, and it loads the package lazily, so a missing or broken install falls back to
 * onnxruntime-web's WASM backend with the reason kept for the caller to report.
 *
 * Its npm package ships the CPU binaries (bin/napi-v6/<os>/<arch>); the CUDA execution
 * provider comes only from the package's install script (docs/gpu.md), and is taken when
 * asked for with `cuda: true` and its library is present.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { cpuRuntimeName, ortThreads, registerCpuRuntime, useWebCpuRuntime, type CpuRuntime } from './ort';

export interface NodeRuntimeParams {
  /** Run on the CUDA execution provider (falls back to nothing: an error says what is missing). */
  cuda?: boolean;
}

/** What registerNodeRuntime did: the runtime now in use, or why it kept onnxruntime-web. */
export interface NodeRuntimeResult {
  runtime: string;
  /** Set when onnxruntime-node did not load: the CPU path stays on onnxruntime-web (wasm). */
  fallbackReason?: string;
}

/** Raised when --device gpu asks for CUDA and this install of onnxruntime-node has none. */
export class CudaUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CudaUnavailableError';
  }
}

interface OrtNodeModule {
  InferenceSession: CpuRuntime['InferenceSession'];
  Tensor: CpuRuntime['Tensor'];
  listSupportedBackends?: () => { name: string; bundled: boolean }[];
}

const require = createRequire(import.meta.url);

function loadOrtNode(): OrtNodeModule {
  return require('onnxruntime-node') as OrtNodeModule;
}

/** The folder holding onnxruntime-node's native libraries for this platform. */
function binaryFolder(): string {
  const root = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(root, 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the CUDA execution provider's library was installed (the install script's download). */
export function cudaProviderInstalled(): boolean {
  try {
    return existsSync(join(binaryFolder(), process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

export const CUDA_MISSING =
  "onnxruntime-node's CUDA execution provider is not installed here (its install script downloads it; this project skips that script by default). See docs/gpu.md: `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` on a machine with CUDA 12 and cuDNN 9.";

/**
 * Makes onnxruntime-node the CPU-path runtime (CUDA when asked). Without a loadable
 * onnxruntime-node, CPU sessions stay on onnxruntime-web's WASM and the reason is returned;
 * asking for CUDA where it is not installed throws CudaUnavailableError.
 */
export function registerNodeRuntime(params: NodeRuntimeParams = {}): NodeRuntimeResult {
  let ortNode: OrtNodeModule;
  try {
    ortNode = loadOrtNode();
    // The binding loads on first use in some builds: probe it now, not in the first run.
    ortNode.listSupportedBackends?.();
  } catch (err) {
    if (params.cuda) throw new CudaUnavailableError(`onnxruntime-node does not load (${(err as Error).message.split('\n')[0]}), so there is no CUDA path.`);
    useWebCpuRuntime();
    return { runtime: cpuRuntimeName(), fallbackReason: `onnxruntime-node did not load (${(err as Error).message.split('\n')[0]})` };
  }
  if (params.cuda && !cudaProviderInstalled()) throw new CudaUnavailableError(CUDA_MISSING);
  const cores = availableParallelism();
  registerCpuRuntime({
    name: `onnxruntime-node (${params.cuda ? 'cuda' : 'cpu'})`,
    InferenceSession: ortNode.InferenceSession,
    Tensor: ortNode.Tensor,
    executionProviders: params.cuda ? ['cuda', 'cpu'] : ['cpu'],
    // One session runs at a time (runs are chained), so its intra-op pool may take every core;
    // inter-op parallelism stays off, the graphs here are chains.
    sessionOptions: () => ({ intraOpNumThreads: ortThreads(cores), interOpNumThreads: 1, executionMode: 'sequential' }),
    // Its tensors reject views on a SharedArrayBuffer ("Invalid argument").
    takesSharedArrays: false,
  });
  return { runtime: cpuRuntimeName() };
}
