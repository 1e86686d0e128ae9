/** Score tables shared by the commands that evaluate: one column per task metric, dev then held-out. */
import type { ModelScores } from '../../src/protocol/results';
import { formatMetric, metricHeader, taskMetrics } from '../../src/eval/tasks/metric-format';

/** Rows [model, dev metrics…, held-out metrics…] with a header; the metrics are the first model's task's. */
export function scoreRows(models: readonly ModelScores[]): (string | number)[][] {
  const metrics = taskMetrics(models[0]?.dev.task);
  const header = ['model', ...metrics.map((m) => metricHeader('dev', m, true)), ...metrics.map((m) => metricHeader('held-out', m, true))];
  const cells = (m: ModelScores) => [...metrics.map((d) => formatMetric(d, m.dev.metrics[d.key], 2, false)), ...metrics.map((d) => formatMetric(d, m.heldout?.metrics[d.key], 2, false))];
  return [header, ...models.map((m) => [m.name, ...cells(m)])];
}
