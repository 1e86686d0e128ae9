/**
 * Writes to this browser's project store (project-store.ts) without holding up the UI.
 * Storage failing (quota, private mode) must not stop the work: it is reported once and
 * switched off for the page. Imports the store and ./message only.
 */
import { useStudioStore } from '../store';
import { message } from './message';

let writes: Promise<void> = Promise.resolve();

export function persist(write: () => Promise<void>): void {
  if (useStudioStore.getState().storage !== 'on') return;
  // One queue, so writes land in the order they were made (a run's start before its scores);
  // storage is asked again when a write's turn comes (it may have been switched off meanwhile).
  writes = writes
    .then(() => (useStudioStore.getState().storage === 'on' ? write() : undefined))
    .catch((err: unknown) => useStudioStore.setState({ storage: 'off', storageError: `Stopped storing this project in the browser: ${message(err)}` }));
}

/**
 * Holds every write queued from now on until `ready` settles: the page's check that it may
 * store at all (the project's Web Lock) comes before its first write.
 */
export function writesAfter(ready: Promise<unknown>): void {
  writes = writes.then(() => ready).then(
    () => undefined,
    () => undefined,
  );
}

/** Settles when every write queued so far has landed (or failed). */
export function storedWrites(): Promise<void> {
  return writes;
}
