/** The task's primary dev metric per domain for a list of models: the checkpoints as they are scored, and the run's results. */
import type { ModelScores } from '../../protocol/results';
import { metricText } from '../format';
import { taskView } from '../charts/use-task';

export function DomainScores({ models, testId = 'domain-scores' }: { models: readonly ModelScores[]; testId?: string }) {
  const domains = models[0]?.dev.byDomain.filter((d) => d.domain !== 'all') ?? [];
  if (domains.length === 0) return null;
  const { primary } = taskView(models[0]?.dev.task);
  return (
    <table className="table compact" aria-label={`Per-domain dev ${primary.label}`} data-testid={testId}>
      <thead>
        <tr>
          <th>Dev {primary.label} by domain</th>
          {domains.map((d) => (
            <th key={d.domain}>
              {d.domain} ({d.size})
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {models.map((m) => (
          <tr key={m.name}>
            <td>{m.name}</td>
            {domains.map((d) => (
              <td key={d.domain}>{metricText(primary, m.dev.byDomain.find((x) => x.domain === d.domain)?.metrics[primary.key])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
