/**
 * The engine worker: kernels, population and the onnxruntime-web session live here,
 * on one GPUDevice (a device cannot be shared across workers). The UI talks to it
 * through comlink (wrap<EngineApi>).
 */
import { expose } from 'comlink';
import { MergeEngine } from '../src/engine/engine';
import { useWebKernelThreads } from './kernel-threads';

// onnxruntime-web's WASM threads (cross-origin isolated pages) start from this same bundle, as
// workers it names "em-pthread": they must not expose an engine of their own on their channel.
if ((self as { name?: string }).name !== 'em-pthread') {
  useWebKernelThreads();
  expose(new MergeEngine());
}
