/**
 * The --task and --labels options of the commands that score (eval, evolve): the option specs,
 * their help lines, and the task a run uses: the one named, else the one the graph and the dev
 * rows suggest (eval/tasks/guess-task).
 */
import { readFileSync } from 'node:fs';
import type { DevRow } from '../src/eval/dev-row';
import { guessTask, taskMismatch } from '../src/eval/tasks/guess-task';
import { TASKS } from '../src/eval/tasks/registry';
import type { EngineApi } from '../src/protocol/api';
import type { NamedBytes } from '../src/protocol/files';
import type { GraphSignature, Task } from '../src/eval/tasks/task';
import type { Options, Parsed } from './args';
import { stringOption, UsageError } from './args';
import { InputError } from './io';

export const taskOptions: Options = { task: { type: 'string' }, labels: { type: 'string' } };

export const taskHelp = [
  `  --task ID               ${TASKS.map((t) => t.id).join(' | ')} (default: guessed from the graph's outputs and the dev rows' fields)`,
  '  --labels FILE           label or tag names in model order: a JSON list, {"labels": [...]}, or a config.json with "id2label"',
];

/** The task named by --task (checked against the graph), else the guess. */
export function taskFromOptions(values: Parsed['values'], graph: GraphSignature, rows: readonly DevRow[], graphName: string, command: string): Task {
  const id = stringOption(values, 'task');
  if (id === undefined) return guessTask(graph, rows, graphName);
  const task = TASKS.find((t) => t.id === id);
  if (!task) throw new UsageError(`--task ${id}: unknown task (known: ${TASKS.map((t) => t.id).join(', ')}).`, command);
  const mismatch = taskMismatch(task, graph, graphName);
  if (mismatch) throw new InputError(`${mismatch} (--task ${id}).`);
  return task;
}

/** The names of --labels, or undefined when it is not given. */
export function labelsFromOptions(values: Parsed['values']): string[] | undefined {
  const file = stringOption(values, 'labels');
  if (file === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not a readable JSON file (${(err as Error).message}).`);
  }
  const isNames = (x: unknown): x is string[] => Array.isArray(x) && x.length > 0 && x.every((n) => typeof n === 'string');
  if (isNames(json)) return json;
  const listed = (json as { labels?: unknown } | null)?.labels;
  if (isNames(listed)) return listed;
  const id2label = (json as { id2label?: unknown } | null)?.id2label;
  if (typeof id2label === 'object' && id2label !== null) {
    const entries = Object.entries(id2label as Record<string, unknown>);
    const names: string[] = [];
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isSafeInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string') throw new InputError(`${file}: "id2label" must map 0..${entries.length - 1} to names (bad entry "${k}").`);
      names[i] = v;
    }
    return names;
  }
  throw new InputError(`${file}: expected a JSON list of names, {"labels": [...]}, or a config.json with "id2label".`);
}

/**
 * For the commands that run the engine (evolve, merge --dev): names the task first (the dev rows
 * are then read for it; else the rows and the graph decide) and returns --labels as the label
 * file the engine reads with the data.
 */
export async function engineTaskOptions(engine: Pick<EngineApi, 'setTask'>, values: Parsed['values'], command: string): Promise<NamedBytes[]> {
  const id = stringOption(values, 'task');
  if (id !== undefined) {
    if (!TASKS.some((t) => t.id === id)) throw new UsageError(`--task ${id}: unknown task (known: ${TASKS.map((t) => t.id).join(', ')}).`, command);
    await engine.setTask(id);
  }
  const labels = labelsFromOptions(values);
  return labels ? [{ name: 'labels.json', bytes: new TextEncoder().encode(JSON.stringify({ labels })) }] : [];
}
