/**
 * The evaluation runtime of every CLI command that scores models: onnxruntime-node by default
 * (registered at start, src/eval/ort-node.ts), onnxruntime-web's WASM where it does not load
 * or when asked (--runtime web), the CUDA execution provider for --device gpu where its
 * library is installed, and --threads. Commands spread `runtimeOptions` into their options,
 * add `runtimeHelp` to their help and call `applyRuntimeOptions` before their first session.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, sep } from 'node:path';
import { useNodeKernelThreads } from './kernel-threads';
import { cpuRuntimeName, setOrtThreads, setWebWasmPaths, useWebCpuRuntime } from '../src/eval/ort';
import { CudaUnavailableError, registerNodeRuntime } from '../src/eval/ort-node';
import { numberOption, UsageError, type Options, type Parsed } from './args';
import { keepWasmOnLiftoff } from './wasm-tiering';

export type RuntimeChoice = 'node' | 'web';

export const runtimeOptions: Options = {
  threads: { type: 'string' },
  runtime: { type: 'string' },
};

const THREADS_HELP = '  --threads N             threads per model evaluation and for the DE step and linear merges (default: the cores)';
const RUNTIME_HELP = '  --runtime node|web      onnxruntime-node (default; onnxruntime-web wasm where it does not load) or onnxruntime-web wasm';

export const runtimeHelp: readonly string[] = [THREADS_HELP, RUNTIME_HELP];

/** The help lines for a command whose own help already describes --threads (merge: its streaming threads). */
export const runtimeHelpWithoutThreads: readonly string[] = [RUNTIME_HELP];

export interface AppliedRuntime {
  /** e.g. "onnxruntime-node (cpu), 2 threads". */
  description: string;
  /** Why onnxruntime-node was not used, when it was wanted. */
  fallbackReason?: string;
}

/**
 * At CLI start: onnxruntime-node becomes the CPU-path runtime where it loads, so every
 * session of every command runs on it unless a command's flags say otherwise.
 */
export function startRuntime(): void {
  if (registerNodeRuntime().fallbackReason) keepWasmOnLiftoff();
}

/**
 * Applies --threads, --runtime and, with `gpuEvaluation`, --device gpu (CUDA) to the sessions
 * the command creates from now on. Writes a note to stderr when onnxruntime-node was wanted
 * and did not load. Usage errors name the flag.
 */
export function applyRuntimeOptions(values: Parsed['values'], { gpuEvaluation = false, command }: { gpuEvaluation?: boolean; command?: string } = {}): AppliedRuntime {
  const threads = numberOption(values, 'threads', availableParallelism(), { min: 1, max: 1024, integer: true });
  const raw = values.runtime;
  if (raw !== undefined && raw !== 'node' && raw !== 'web') throw new UsageError(`--runtime must be node or web; got "${String(raw)}".`, command ?? null);
  const choice: RuntimeChoice = raw === 'web' ? 'web' : 'node';
  const cuda = gpuEvaluation && values.device === 'gpu';
  if (cuda && choice === 'web') throw new UsageError('--device gpu evaluates on onnxruntime-node\'s CUDA execution provider; it does not combine with --runtime web.', command ?? null);
  setOrtThreads(threads);
  // The population's in-place kernels (DE step, linear merges) run between evaluations, on as many.
  useNodeKernelThreads(threads);
  // onnxruntime-web (the fallback, or --runtime web) finds its threaded build from its own folder.
  setWebWasmPaths(dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + sep);
  let fallbackReason: string | undefined;
  if (choice === 'web') {
    useWebCpuRuntime();
  } else {
    try {
      fallbackReason = registerNodeRuntime({ cuda }).fallbackReason;
    } catch (err) {
      if (err instanceof CudaUnavailableError) throw new UsageError(`--device gpu: ${err.message}`, command ?? null);
      throw err;
    }
  }
  if (choice === 'web' || fallbackReason) keepWasmOnLiftoff();
  if (fallbackReason) process.stderr.write(`note: ${fallbackReason}; models are scored on ${cpuRuntimeName()}.\n`);
  return { description: `${cpuRuntimeName()}, ${threads} thread${threads === 1 ? '' : 's'}`, ...(fallbackReason ? { fallbackReason } : {}) };
}
