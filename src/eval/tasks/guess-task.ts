/**
 * Which task a graph and its dev rows are for, when the user names none: the rows' fields decide
 * what the graph alone cannot (a decoder scores plain text and multiple-choice rows alike; a
 * [batch, 1] head is a regression whatever its labels), then the graph's outputs (registry's
 * detectTask). The CLI's --task guess and the studio's task picker default.
 */
import type { DevRow } from '../dev-row';
import { detectTask, getTask, TaskError } from './registry';
import { MULTIPLE_CHOICE, TOKEN_CLASSIFICATION } from './ids';
import type { GraphSignature, Task } from './task';

export function guessTask(graph: GraphSignature, rows: readonly DevRow[], fileName: string): Task {
  const first = rows[0];
  if (first?.choices !== undefined) return getTask(MULTIPLE_CHOICE);
  if (first?.tokens !== undefined || first?.tokenLabels !== undefined) return getTask(TOKEN_CLASSIFICATION);
  return detectTask(graph, fileName);
}

/** Why a named task cannot score this graph, or null when it can (detect > 0). */
export function taskMismatch(task: Task, graph: GraphSignature, fileName: string): string | null {
  if (task.detect(graph) > 0) return null;
  const outputs = graph.outputs.map((o) => `${o.name} [${o.dims.join(', ')}]`).join(', ') || '(none)';
  return `${fileName}: a ${task.label.toLowerCase()} model cannot have the outputs ${outputs}`;
}

export { TaskError };
