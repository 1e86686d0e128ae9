/**
 * What a queue's workers need to open the coordinator's run: the evolve flags with every file
 * named relative to a data root, and the name, size and SHA-256 of every file the coordinator's
 * engine read. Workers resolve the names under their own --data-root (and refuse any that leads
 * out of it), read the files, and refuse the run when a file's hash differs from the
 * coordinator's. Only names and hashes cross the network.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { CommandSpec, Parsed } from '../args';
import type { JournalEntry } from '../../src/protocol/results';
import type { NamedBytes } from '../../src/protocol/files';

export interface InputFileHash {
  name: string;
  bytes: number;
  sha256: string;
}

export interface RunDescription {
  version: 1;
  runId: string;
  /** The evolve flags and models, files relative to the data root. */
  args: string[];
  /** Every file the coordinator's engine read, in order. */
  files: InputFileHash[];
  /** One hash of all of them: what each job carries. */
  inputsHash: string;
  /** The scores the coordinator resumed from (--journal): a copy replays them as it does. */
  journal: JournalEntry[];
}

export class DataRootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataRootError';
  }
}

export function hashInputs(inputs: readonly NamedBytes[]): { files: InputFileHash[]; inputsHash: string } {
  const files = inputs.map((f) => ({ name: f.name, bytes: f.bytes.byteLength, sha256: createHash('sha256').update(f.bytes).digest('hex') }));
  const inputsHash = createHash('sha256').update(files.map((f) => `${f.name}\0${f.sha256}`).join('\n')).digest('hex');
  return { files, inputsHash };
}

/** `file` (relative to the current folder) as a path relative to root; throws when it is outside. */
export function underRoot(root: string, file: string, what: string): string {
  const relative = path.relative(realpathSync(root), realpathSync(path.resolve(file)));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) throw new DataRootError(`${what} ${file} is outside the data root ${root}: workers read only under their --data-root.`);
  return relative.split(path.sep).join('/');
}

/** A relative name from a run description as a path under root; refuses one that leads out of it. */
export function resolveUnder(root: string, name: string): string {
  const base = realpathSync(root);
  if (path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) throw new DataRootError(`the run asks for "${name}", which is not a path under this worker's --data-root ${root}; refused.`);
  const full = path.resolve(base, name);
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw new DataRootError(`the run needs ${name}, which is not under this worker's --data-root ${root} (no such file or folder ${full}).`);
  }
  const relative = path.relative(base, real);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new DataRootError(`the run's ${name} leads out of this worker's --data-root ${root} (to ${real}); refused.`);
  return real;
}

/**
 * The parsed flags back as arguments, with the file flags and the models mapped by `mapPath`
 * and the flags in `drop` left out (the coordinator's own: --queue, --out, --journal, ...).
 */
export function flagsAsArgs(spec: CommandSpec, { values, positionals }: Parsed, pathFlags: readonly string[], mapPath: (file: string, what: string) => string, drop: readonly string[]): string[] {
  const args: string[] = [];
  for (const name of Object.keys(spec.options)) {
    const value = values[name];
    if (value === undefined || drop.includes(name)) continue;
    if (typeof value === 'boolean') {
      if (value) args.push(`--${name}`);
      continue;
    }
    args.push(`--${name}`, pathFlags.includes(name) ? mapPath(value, `--${name}`) : value);
  }
  return [...args, ...positionals.map((m) => mapPath(m, 'model'))];
}

/** The first file whose hash differs between the coordinator's run and this worker's copy, as a message. */
export function inputsProblem(expected: readonly InputFileHash[], actual: readonly InputFileHash[]): string | null {
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const want = expected[i];
    const have = actual[i];
    if (!want) return `this worker read ${have!.name}, which the coordinator did not`;
    if (!have) return `the coordinator read ${want.name}, which this worker did not`;
    if (want.name !== have.name) return `the coordinator's file ${i + 1} is ${want.name}, this worker's ${have.name}`;
    if (want.sha256 !== have.sha256) return `${want.name} differs from the coordinator's (${have.bytes} bytes, sha256 ${have.sha256.slice(0, 12)}… here; ${want.bytes} bytes, sha256 ${want.sha256.slice(0, 12)}… there)`;
  }
  return null;
}
