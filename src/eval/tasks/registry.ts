/**
 * The task table (style.md §10): every task the studio can score, listed once. The workspace picks
 * the entry that fits the loaded graph; the evaluator, the search, the UI and the CLI then look it
 * up by id (Scores.task, Fitness.task) and ask it: inputs, scoring, which way is better, metric names.
 */
import type { Fitness, MetricDescriptor, Scores } from '../../protocol/results';
import { causalLm } from './causal-lm';
import { multipleChoice } from './multiple-choice';
import { regression } from './regression';
import { tokenClassification } from './token-classification';
import { sequenceClassification } from './sequence-classification';
import type { GraphSignature, Task } from './task';

export const TASKS: readonly Task[] = [sequenceClassification, causalLm, multipleChoice, tokenClassification, regression];

export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}

export function getTask(id: string): Task {
  const task = TASKS.find((t) => t.id === id);
  if (!task) throw new TaskError(`Unknown task "${id}" (known: ${TASKS.map((t) => t.id).join(', ')}).`);
  return task;
}

/** The task most sure it fits the graph; throws naming the file when none does. */
export function detectTask(graph: GraphSignature, fileName: string): Task {
  let best: { task: Task; confidence: number } | null = null;
  for (const task of TASKS) {
    const confidence = task.detect(graph);
    if (confidence > 0 && (!best || confidence > best.confidence)) best = { task, confidence };
  }
  if (!best) {
    const outputs = graph.outputs.map((o) => `${o.name} [${o.dims.join(', ')}]`).join(', ') || '(none)';
    throw new TaskError(`${fileName}: no task fits the graph's outputs ${outputs} (supported: ${TASKS.map((t) => t.label).join(', ')}).`);
  }
  return best.task;
}

function metric(task: Task, key: string): MetricDescriptor {
  const found = task.metrics.find((m) => m.key === key);
  if (!found) throw new TaskError(`Task ${task.id} has no metric "${key}".`);
  return found;
}

/** The metric a task selects on first: the y axis of the run's charts. */
export function primaryMetric(task: Task): MetricDescriptor {
  return metric(task, task.fitness[0]!);
}

/** The selection score of a model's scores: the task's fitness metrics, in its order. */
export function fitnessOf(scores: Scores): Fitness {
  return { task: scores.task, values: getTask(scores.task).fitness.map((key) => scores.metrics[key] ?? NaN) };
}

/**
 * > 0 when a is better than b, < 0 when worse, 0 when tied: metric by metric in the task's
 * fitness order, each the way its descriptor says. A NaN (an empty split) orders nothing: 0.
 */
export function compareFitness(a: Fitness, b: Fitness): number {
  if (a.task !== b.task) throw new TaskError(`Cannot compare a ${a.task} score with a ${b.task} score.`);
  return compareInOrder(getTask(a.task), a, b);
}

/** compareFitness with the task given (the values are in its fitness order). */
export function compareInOrder(task: Task, a: Fitness, b: Fitness): number {
  for (let i = 0; i < task.fitness.length; i++) {
    const sign = metric(task, task.fitness[i]!).higherIsBetter ? 1 : -1;
    const x = a.values[i] ?? NaN;
    const y = b.values[i] ?? NaN;
    if (Number.isNaN(x) || Number.isNaN(y)) return 0;
    if (x !== y) return sign * (x - y) > 0 ? 1 : -1;
  }
  return 0;
}

/** The best of a non-empty list by compareFitness (the first of equals). */
export function bestFitness(list: readonly Fitness[]): Fitness {
  if (list.length === 0) throw new RangeError('bestFitness: empty list');
  return list.reduce((best, f) => (compareFitness(f, best) > 0 ? f : best));
}

/** The primary metric's value of a fitness (what charts plot and the offspring log shows). */
export function primaryValue(f: Fitness): number {
  return f.values[0] ?? NaN;
}

/**
 * A Fitness as stored: the current shape, or the {accuracy, macroF1} of journals written before
 * tasks existed (those runs were all sequence classification). Null when it is neither.
 */
export function readStoredFitness(value: unknown): Fitness | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.task === 'string' && Array.isArray(v.values) && v.values.every((x) => typeof x === 'number' || x === null)) {
    // JSON writes NaN as null.
    return { task: v.task, values: v.values.map((x) => (x === null ? NaN : (x as number))) };
  }
  const legacy = (x: unknown) => (typeof x === 'number' ? x : x === null ? NaN : undefined);
  const accuracy = legacy(v.accuracy);
  const macroF1 = legacy(v.macroF1);
  if (accuracy !== undefined && macroF1 !== undefined) return { task: sequenceClassification.id, values: [accuracy, macroF1] };
  return null;
}
