/**
 * How the UI, the CLI and the exports show a task's metrics: the descriptors of a model's scores,
 * a value in its format, a column name for CSV and metadata. One place, so a new task's metric
 * shows the same everywhere.
 */
import type { MetricDescriptor, Scores } from '../../protocol/results';
import { getTask, primaryMetric } from './registry';
import { DEFAULT_TASK_ID } from './ids';

/** The metrics of a task (by id; the default task when none is known yet, e.g. before a dev set is loaded). */
export function taskMetrics(taskId: string | null | undefined): readonly MetricDescriptor[] {
  return getTask(taskId ?? DEFAULT_TASK_ID).metrics;
}

/** The primary metric of a task (by id, as taskMetrics). */
export function taskPrimaryMetric(taskId: string | null | undefined): MetricDescriptor {
  return primaryMetric(getTask(taskId ?? DEFAULT_TASK_ID));
}

/** A metric's value from scores, undefined when there are none (a model not scored on held-out data). */
export function metricValue(scores: Scores | null | undefined, key: string): number | undefined {
  return scores?.metrics[key];
}

/**
 * A value in its metric's format: percent with `digits` decimals (and a % sign unless `unit` is
 * false), decimal with two more; '–' for a missing or NaN value.
 */
export function formatMetric(metric: MetricDescriptor, value: number | undefined | null, digits = 1, unit = true): string {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  if (metric.format === 'percent') return `${(100 * value).toFixed(digits)}${unit ? '%' : ''}`;
  return value.toFixed(digits + 2);
}

/** A metric's key as a snake_case column name (macroF1 → macro_f1). */
export function metricColumn(metric: MetricDescriptor): string {
  return metric.key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** A header for a metric column: "<prefix> <short>" plus " %" when unit is set and the metric is a percentage. */
export function metricHeader(prefix: string, metric: MetricDescriptor, unit = false): string {
  return `${prefix}${prefix ? ' ' : ''}${metric.short}${unit && metric.format === 'percent' ? ' %' : ''}`;
}
