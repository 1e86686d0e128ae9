/**
 * The connection to the engine worker (comlink): started on first use, initialised on the
 * chosen compute path, and dropped when the worker dies so the next call starts a new one.
 * What to do after a crash (reload the stored project) is the stored-project actions' job:
 * they register it with onEngineCrash, keeping this module free of the actions above it.
 * Imports comlink, the protocol and the store.
 */
import { wrap, type Remote } from 'comlink';
import { type EngineApi } from '../../protocol/api';
import { useStudioStore } from '../store';

let engine: Remote<EngineApi> | null = null;
let engineWorker: Worker | null = null;
let initialised: Promise<void> | null = null;
let crashListener: ((reason: string) => Promise<void>) | null = null;

function getEngine(): Remote<EngineApi> {
  if (!engine) {
    const worker = new Worker(new URL('../../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    worker.addEventListener('error', (event) => void engineCrashed(worker, event.message || 'unknown error'));
    engineWorker = worker;
    engine = wrap<EngineApi>(worker);
  }
  return engine;
}

/** The engine worker died (an uncaught error, a crash in wasm): forget it, then recover. */
async function engineCrashed(worker: Worker, reason: string): Promise<void> {
  if (worker !== engineWorker) return;
  worker.terminate();
  engine = null;
  engineWorker = null;
  initialised = null;
  await crashListener?.(reason);
}

/** Sets what runs after the engine worker died and was dropped (one listener). */
export function onEngineCrash(listener: (reason: string) => Promise<void>): void {
  crashListener = listener;
}

/** Starts the engine on the chosen compute path (once per page, or again when the choice changes). */
export function initEngine(): Promise<void> {
  const preference = useStudioStore.getState().preference;
  initialised = (async () => {
    const environment = await getEngine().init(preference);
    useStudioStore.setState({ environment });
  })();
  return initialised;
}

/** The engine, once initialised (initialising it on first use). */
export async function ready(): Promise<Remote<EngineApi>> {
  await (initialised ?? initEngine());
  return getEngine();
}
