/**
 * Scores over all rows and per domain for any task: the pooled 'all' entry first, then one entry
 * per domain in ds.domainNames order, each from the task's own metric function over those rows.
 */
import type { DomainScore, Scores } from '../../protocol/results';
import type { EncodedDataset } from '../dataset';
import { ALL_DOMAINS } from './classification-metrics';

export function domainScores(task: string, ds: Pick<EncodedDataset, 'size' | 'domains' | 'domainNames'>, metricsOf: (rows: readonly number[]) => Record<string, number>): Scores {
  const all = Array.from({ length: ds.size }, (_, i) => i);
  const byDomain: DomainScore[] = [{ domain: ALL_DOMAINS, size: ds.size, metrics: metricsOf(all) }];
  for (const d of ds.domainNames) {
    const rows = all.filter((i) => ds.domains[i] === d);
    byDomain.push({ domain: d, size: rows.length, metrics: metricsOf(rows) });
  }
  return { task, metrics: { ...byDomain[0]!.metrics }, size: ds.size, byDomain };
}
