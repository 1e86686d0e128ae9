/**
 * The loaded project's task (detected from the checkpoints' graph) as the live charts and tables
 * name it: its metrics and its primary metric, the one the run plots. Before a dev set is loaded,
 * the default task's.
 */
import { useStudioStore } from '../../state/store';
import { getTask, primaryMetric } from '../../eval/tasks/registry';
import { DEFAULT_TASK_ID } from '../../eval/tasks/ids';
import type { MetricDescriptor } from '../../protocol/results';

export interface TaskView {
  id: string;
  metrics: readonly MetricDescriptor[];
  primary: MetricDescriptor;
  /** The first tie-break of the fitness order, if the task has one. */
  tieBreak: MetricDescriptor | null;
}

/** A task's view by id. */
export function taskView(id: string | null | undefined): TaskView {
  const task = getTask(id ?? DEFAULT_TASK_ID);
  const tie = task.fitness[1];
  return { id: task.id, metrics: task.metrics, primary: primaryMetric(task), tieBreak: tie === undefined ? null : (task.metrics.find((m) => m.key === tie) ?? null) };
}

export function useTaskView(): TaskView {
  return taskView(useStudioStore((s) => s.snapshot.dataset?.task));
}

/** What a chart's title adds for a metric where lower is better (a loss, perplexity, an error). */
export function direction(metric: MetricDescriptor): string {
  return metric.higherIsBetter ? '' : ' (lower is better)';
}
