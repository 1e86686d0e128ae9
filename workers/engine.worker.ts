/**
 * The engine worker: kernels, population and the onnxruntime-web session live here,
 * on one GPUDevice (a device cannot be shared across workers). The UI talks to it
 * through comlink (wrap<EngineApi>).
 */
import { expose } from 'comlink';
import { MergeEngine } from '../src/engine/engine';

expose(new MergeEngine());
