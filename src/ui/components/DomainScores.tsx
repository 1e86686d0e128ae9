/** Dev accuracy per domain for a list of models: the checkpoints as they are scored, and the run's results. */
import type { ModelScores } from '../../protocol/results';
import { percent } from '../format';

export function DomainScores({ models, testId = 'domain-scores' }: { models: readonly ModelScores[]; testId?: string }) {
  const domains = models[0]?.dev.byDomain.filter((d) => d.domain !== 'all') ?? [];
  if (domains.length === 0) return null;
  return (
    <table className="table compact" aria-label="Per-domain dev accuracy" data-testid={testId}>
      <thead>
        <tr>
          <th>Dev accuracy by domain</th>
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
              <td key={d.domain}>{percent(m.dev.byDomain.find((x) => x.domain === d.domain)?.accuracy)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
