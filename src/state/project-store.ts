/**
 * The user's project kept in this browser's IndexedDB (through idb) as they work: the
 * files the engine accepted, the base, the columns chosen in CSV dev sets, and the run in progress — its settings and its
 * score journal, one entry per selection score (engine/journal.ts), and the last finished
 * result (its scores, history and offspring, shown again on reopen). Weights are never
 * stored: replaying the journal rebuilds the population, so a closed tab or a crashed
 * worker loses at most the evaluation in flight, and a finished result's weights are made
 * again from its journal when it is exported. Nothing here leaves the machine.
 * Browser-only (the UI thread, where the journal events arrive).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { JournalEntry, RunResult } from '../protocol/results';
import type { OffspringReport } from '../protocol/events';
import type { EvolverSettings } from '../protocol/settings';
import type { NamedBlob, NamedBytes } from '../protocol/files';
import type { ColumnChoice } from '../protocol/project';

const DB_NAME = 'evolver-studio';
const DB_VERSION = 1;
const PROJECT_KEY = 'current';

export interface StoredRun {
  settings: EvolverSettings;
  startedAt: string;
  /** Ended (done, stopped by the user, or failed on bad settings): nothing to resume. */
  finished: boolean;
}

/** A finished run or one-shot merge as the studio showed it: what reopening shows again. */
export interface FinishedRecord {
  result: RunResult;
  /** Every offspring scored (the acceptance chart, scatter and log); empty for a merge. */
  offspring: OffspringReport[];
  finishedAt: string;
}

interface ProjectRecord {
  base: string | null;
  run: StoredRun | null;
  /** The last finished result (absent in records stored before results were kept). */
  finished?: FinishedRecord | null;
  /** Columns chosen per CSV/TSV file name (absent in records stored before CSV dev sets). */
  columns?: Record<string, ColumnChoice>;
}

interface StudioDB extends DBSchema {
  /** A file as dropped: its Blob (IndexedDB keeps it on disk, not in page memory); bytes in projects stored before Blobs. */
  files: { key: string; value: { name: string; bytes?: ArrayBuffer; blob?: Blob } };
  project: { key: string; value: ProjectRecord };
  journal: { key: number; value: JournalEntry };
}

export interface StoredProjectSummary {
  files: string[];
  base: string | null;
  /** Columns chosen in CSV/TSV dev and held-out files, by file name; files not listed use the guess. */
  columns: Record<string, ColumnChoice>;
  /** An unfinished run and how many scores it stored. */
  run: (StoredRun & { scores: number }) | null;
  /** The last finished result, and how many scores its journal holds (a merge: none). */
  finished: (FinishedRecord & { scores: number }) | null;
}

let db: Promise<IDBPDatabase<StudioDB>> | null = null;

function open(): Promise<IDBPDatabase<StudioDB>> {
  db ??= openDB<StudioDB>(DB_NAME, DB_VERSION, {
    upgrade(database) {
      database.createObjectStore('files', { keyPath: 'name' });
      database.createObjectStore('project');
      database.createObjectStore('journal');
    },
  });
  return db;
}

/** The Web Lock naming this browser's stored project: the tab holding it is the one that stores it. */
const LOCK_NAME = `${DB_NAME}:${PROJECT_KEY}`;
let lock: Promise<boolean> | null = null;

/**
 * Takes the stored project's Web Lock if no other tab of the studio holds it, and keeps it for
 * the page's life (released when the tab closes). True when this tab holds it — or cannot tell,
 * in a browser without Web Locks — false when another tab does: this one must not store then,
 * or two tabs would write one project. Asked once a page (React's strict mode mounts twice).
 */
export function holdProjectLock(): Promise<boolean> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (!locks) return Promise.resolve(true);
  lock ??= new Promise<boolean>((resolve) => {
    locks
      .request(LOCK_NAME, { ifAvailable: true }, (held) => {
        resolve(held !== null);
        // Never settles: the lock stays with this page until it goes.
        return held ? new Promise<never>(() => {}) : undefined;
      })
      .catch(() => resolve(true));
  });
  return lock;
}

/** False where IndexedDB is missing or refused (some private modes): the studio then works without storing. */
export async function storageAvailable(): Promise<boolean> {
  if (typeof indexedDB === 'undefined') return false;
  try {
    await open();
    return true;
  } catch {
    db = null;
    return false;
  }
}

async function project(database: IDBPDatabase<StudioDB>): Promise<ProjectRecord> {
  return (await database.get('project', PROJECT_KEY)) ?? { base: null, run: null };
}

export async function storeFiles(files: readonly NamedBlob[]): Promise<void> {
  const database = await open();
  const tx = database.transaction(['files', 'project'], 'readwrite');
  const puts = files.map((f) => tx.objectStore('files').put({ name: f.name, blob: f.blob }));
  // A file dropped again starts from its guessed columns, as the engine does: forget the old choice.
  const record = await tx.objectStore('project').get(PROJECT_KEY);
  if (record?.columns && files.some((f) => f.name in record.columns!)) {
    const columns = Object.fromEntries(Object.entries(record.columns).filter(([name]) => !files.some((f) => f.name === name)));
    await tx.objectStore('project').put({ ...record, columns }, PROJECT_KEY);
  }
  await Promise.all(puts);
  await tx.done;
}

/** The columns chosen in a CSV/TSV dev or held-out file, applied again when the project is reloaded. */
export async function storeColumns(fileName: string, choice: ColumnChoice): Promise<void> {
  const database = await open();
  const record = await project(database);
  await database.put('project', { ...record, columns: { ...record.columns, [fileName]: choice } }, PROJECT_KEY);
}

export async function forgetFile(name: string): Promise<void> {
  await (await open()).delete('files', name);
}

export async function storeBase(base: string | null): Promise<void> {
  const database = await open();
  await database.put('project', { ...(await project(database)), base }, PROJECT_KEY);
}

/** A new run: its settings, and an empty journal. */
export async function storeRunStart(settings: EvolverSettings): Promise<void> {
  const database = await open();
  const tx = database.transaction(['project', 'journal'], 'readwrite');
  const record = (await tx.objectStore('project').get(PROJECT_KEY)) ?? { base: null, run: null };
  await tx.objectStore('journal').clear();
  // A new run replaces the last finished result: its journal is gone.
  await tx.objectStore('project').put({ ...record, run: { settings, startedAt: new Date().toISOString(), finished: false }, finished: null }, PROJECT_KEY);
  await tx.done;
}

export async function storeJournalEntry(index: number, entry: JournalEntry): Promise<void> {
  await (await open()).put('journal', entry, index);
}

/** The run ended; with its result (done or stopped, not failed), kept to be shown on reopen. */
export async function storeRunFinished(finished: FinishedRecord | null = null): Promise<void> {
  const database = await open();
  const record = await project(database);
  if (record.run) await database.put('project', { ...record, run: { ...record.run, finished: true }, ...(finished ? { finished } : {}) }, PROJECT_KEY);
}

/** A one-shot merge ended: its result is kept, and the run and journal before it are gone (a merge has none). */
export async function storeMergeFinished(finished: FinishedRecord): Promise<void> {
  const database = await open();
  const tx = database.transaction(['project', 'journal'], 'readwrite');
  const record = (await tx.objectStore('project').get(PROJECT_KEY)) ?? { base: null, run: null };
  await tx.objectStore('journal').clear();
  await tx.objectStore('project').put({ ...record, run: null, finished }, PROJECT_KEY);
  await tx.done;
}

export async function storedProject(): Promise<StoredProjectSummary | null> {
  const database = await open();
  const files = await database.getAllKeys('files');
  const record = await project(database);
  if (files.length === 0) return null;
  const scores = await database.count('journal');
  const run = record.run && !record.run.finished ? { ...record.run, scores } : null;
  const finished = !run && record.finished ? { ...record.finished, scores: record.finished.result.strategy === 'merge' ? 0 : scores } : null;
  return { files, base: record.base, columns: record.columns ?? {}, run, finished };
}

export async function storedFiles(): Promise<(NamedBytes | NamedBlob)[]> {
  const rows = await (await open()).getAll('files');
  return rows.map((r) => (r.blob ? { name: r.name, blob: r.blob } : { name: r.name, bytes: new Uint8Array(r.bytes!) }));
}

/** The stored journal, in order, up to the first gap (a write lost with the tab). */
export async function storedJournal(): Promise<JournalEntry[]> {
  const database = await open();
  const keys = await database.getAllKeys('journal');
  const values = await database.getAll('journal');
  const entries: JournalEntry[] = [];
  for (let i = 0; i < keys.length && keys[i] === i; i++) entries.push(values[i]!);
  return entries;
}

export async function clearStoredProject(): Promise<void> {
  const database = await open();
  const tx = database.transaction(['files', 'project', 'journal'], 'readwrite');
  await Promise.all([tx.objectStore('files').clear(), tx.objectStore('project').clear(), tx.objectStore('journal').clear()]);
  await tx.done;
}
