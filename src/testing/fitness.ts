/** Test helper: a sequence-classification fitness (the task's order: accuracy, then macro-F1). */
import type { Fitness } from '../protocol/results';

export function fit(accuracy: number, macroF1: number): Fitness {
  return { task: 'sequence-classification', values: [accuracy, macroF1] };
}
