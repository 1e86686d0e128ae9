/**
 * Selection on a dev subset: how far the subset's ranking of models agrees with the whole
 * dev split's (the run report shows it, so a user sees whether the subset was enough).
 */
import { fitnessOf } from '../eval/tasks/registry';
import type { Fitness, ModelScores, SubsetReport } from '../protocol/results';
import { isBetter } from './evolver';

/** How often the subset and the whole dev split order the same pairs of models the same way. */
export function subsetAgreement(rows: number, devRows: number, full: readonly ModelScores[], onSubset: readonly Fitness[]): SubsetReport {
  let pairs = 0;
  let agreeingPairs = 0;
  for (let i = 0; i < full.length; i++) {
    for (let j = i + 1; j < full.length; j++) {
      const order = (a: Fitness, b: Fitness) => (isBetter(a, b) ? 1 : isBetter(b, a) ? -1 : 0);
      pairs++;
      if (order(fitnessOf(full[i]!.dev), fitnessOf(full[j]!.dev)) === order(onSubset[i]!, onSubset[j]!)) agreeingPairs++;
    }
  }
  return { rows, devRows, models: full.map((m) => m.name), agreeingPairs, pairs };
}
