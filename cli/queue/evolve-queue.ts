/**
 * `evolve --queue`: the coordinator's side. Describes the run for the workers (its flags with
 * files relative to --data-root, and every input's hash), and routes the engine's evaluations
 * through the queue (coordinator.ts). The search, the journal and the output stay here.
 */
import { randomUUID } from 'node:crypto';
import type { CommandSpec, Parsed } from '../args';
import { numberOption, stringOption } from '../args';
import { InputError } from '../io';
import { EVOLVE_PATH_OPTIONS, type OpenedRun } from '../commands/evolve-run';
import type { JournalEntry } from '../../src/protocol/results';
import { QueueCoordinator } from './coordinator';
import { connectRedis, redisOptions } from './redis';
import { DataRootError, flagsAsArgs, hashInputs, underRoot, type RunDescription } from './run-description';

/** The coordinator's own flags, which its workers do not take. */
const COORDINATOR_FLAGS = ['queue', 'shards', 'data-root', 'out', 'journal', 'json', 'threads', 'device'];

export const queueEvolveHelp = [
  '  --queue URL             score on the workers of a Redis queue (`evolver-studio worker`); the search stays here and',
  '                          the result is the one a single process writes',
  '  --data-root DIR         with --queue: the folder the files are named relative to (default: the current folder)',
  '  --shards N              with --queue: jobs per evaluation (default: one per worker listening, at most one per batch)',
];

export const queueEvolveOptions = { queue: { type: 'string' }, shards: { type: 'string' }, 'data-root': { type: 'string' } } as const;

/** spec: evolve's (passed in: evolve imports this module). */
export async function openQueueRoute(evolveSpec: CommandSpec, parsed: Parsed, opened: OpenedRun, journal: readonly JournalEntry[], note: (text: string) => void): Promise<QueueCoordinator> {
  const url = stringOption(parsed.values, 'queue')!;
  const connection = redisOptions(url, 'evolve');
  const root = stringOption(parsed.values, 'data-root') ?? process.cwd();
  const shards = numberOption(parsed.values, 'shards', 0, { min: 0, integer: true });
  let args: string[];
  try {
    args = flagsAsArgs(evolveSpec, parsed, EVOLVE_PATH_OPTIONS, (file, what) => underRoot(root, file, what), COORDINATOR_FLAGS);
  } catch (err) {
    if (err instanceof DataRootError) throw new InputError(`--queue: ${err.message}`);
    throw err;
  }
  const redis = await connectRedis(url, connection);
  let lost = false;
  redis.on('close', () => {
    if (lost) return;
    lost = true;
    note(`lost the connection to Redis at ${url}; waiting for it to come back. Every score made so far is in the journal: stop this run and start it again with the same --journal to resume.`);
  });
  redis.on('ready', () => (lost = false));
  const description: RunDescription = { version: 1, runId: randomUUID(), args, ...hashInputs(opened.inputs), journal: [...journal] };
  const coordinator = new QueueCoordinator({ connection, redis, description, shards, onNote: note });
  await coordinator.start();
  return coordinator;
}
