/** Display helpers shared by the UI components. */
import { formatMetric } from '../eval/tasks/metric-format';
import type { MetricDescriptor } from '../protocol/results';

/** A task metric's value as the UI shows it (percentages with one decimal, as percent()). */
export function metricText(metric: MetricDescriptor, value: number | undefined | null): string {
  return formatMetric(metric, value, 1);
}

export function percent(value: number | undefined | null, digits = 1): string {
  return value === undefined || value === null || Number.isNaN(value) ? '–' : `${(value * 100).toFixed(digits)}%`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
