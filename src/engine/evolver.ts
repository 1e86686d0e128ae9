/**
 * The Evolver (Du et al., ACL 2024) over a PopulationStore, independent of the
 * compute path. Offspring of individual i: pick a peer r ≠ i, mutant
 * v = x_i + F·(x_r − x_i), binomial crossover with rate CR plus one forced
 * element (j_rand, which the reference code lacks: without it an offspring can
 * equal its parent and waste an evaluation). Individuals are visited in a seeded
 * random permutation each generation.
 *
 * Selection uses the dev split only:
 * - 'merged': the candidate's fitness is the dev score of the population merged
 *   (by the store's merger: average, RegMean, TIES, ...) with the candidate in place
 *   of x_i; accept if strictly better than the current merged score. The result is
 *   the merged population.
 * - 'individual': the candidate is scored alone against x_i's own score. The
 *   result is the best individual.
 * Fitness compares accuracy first, then macro-F1 (accuracy on a few hundred rows
 * has coarse steps and ties are common).
 */
import { CounterRng } from '../kernels/rng/rng.cpu';
import type { PopulationStore, WeightSetId } from './population';
import type { EvolverSettings, Fitness, GenerationStat, ProgressEvent } from './types';

/** Host-side random stream id, distinct from the per-offspring kernel streams (1, 2, ...). */
const HOST_STREAM = 0x9e3779b9;

export function isBetter(a: Fitness, b: Fitness): boolean {
  return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.macroF1 > b.macroF1);
}

export interface EvolverHooks {
  /** Scores a weight set on the dev split. */
  score(set: WeightSetId): Promise<Fitness>;
  onProgress?(event: ProgressEvent): void;
  shouldStop?(): boolean;
}

export interface EvolverOutcome {
  history: GenerationStat[];
  /** The set holding the result: 'merged' (merged population) or the best individual. */
  result: WeightSetId;
  resultFitness: Fitness;
  individualFitness: Fitness[];
  initialMergeFitness: Fitness;
  evaluations: number;
  offspring: number;
  accepted: number;
  stopped: boolean;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export async function runEvolver(
  population: PopulationStore,
  settings: EvolverSettings,
  hooks: EvolverHooks,
): Promise<EvolverOutcome> {
  const n = population.size;
  if (n < 2) throw new Error('The Evolver needs at least two checkpoints.');
  const rng = new CounterRng(settings.seed >>> 0, HOST_STREAM);
  let evaluations = 0;
  const score = async (set: WeightSetId) => {
    evaluations++;
    return hooks.score(set);
  };

  const individualFitness: Fitness[] = [];
  for (let i = 0; i < n; i++) individualFitness.push(await score(i));
  await population.merge(null);
  const initialMergeFitness = await score('merged');
  let mergedFitness = initialMergeFitness;

  const history: GenerationStat[] = [];
  const record = (stat: GenerationStat) => {
    history.push(stat);
    hooks.onProgress?.({ type: 'generation', stat });
  };
  const accuracies = individualFitness.map((f) => f.accuracy);
  record({
    generation: 0,
    best: Math.max(...accuracies, mergedFitness.accuracy),
    mean: mean(accuracies),
    merged: mergedFitness.accuracy,
    accepted: 0,
    evaluated: n + 1,
  });

  let offspring = 0;
  let acceptedTotal = 0;
  let stopped = false;
  for (let generation = 1; generation <= settings.generations && !stopped; generation++) {
    const order = rng.permutation(n);
    const scored: number[] = [];
    let accepted = 0;
    for (let k = 0; k < order.length; k++) {
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      const target = order[k];
      let donor = rng.nextInt(n - 1);
      if (donor >= target) donor++;
      const jRand = rng.nextInt(population.layout.totalSize);
      offspring++;
      population.mutate(target, donor, { f: settings.f, cr: settings.cr, seed: settings.seed >>> 0, stream: offspring, jRand });

      let fitness: Fitness;
      let better: boolean;
      if (settings.mode === 'merged') {
        await population.merge(target);
        fitness = await score('merged');
        better = isBetter(fitness, mergedFitness);
        if (better) mergedFitness = fitness;
      } else {
        fitness = await score('candidate');
        better = isBetter(fitness, individualFitness[target]);
        if (better) individualFitness[target] = fitness;
      }
      if (better) {
        population.accept(target);
        accepted++;
      }
      scored.push(fitness.accuracy);
      hooks.onProgress?.({ type: 'offspring', generation, index: k + 1, perGeneration: n, accuracy: fitness.accuracy, accepted: better });
    }
    if (scored.length === 0) break;
    acceptedTotal += accepted;

    if (settings.mode === 'merged') {
      record({
        generation,
        best: Math.max(...scored, mergedFitness.accuracy),
        mean: mean(scored),
        merged: mergedFitness.accuracy,
        accepted,
        evaluated: scored.length,
      });
    } else {
      // The merged score is shown for comparison only; it never drives selection here.
      await population.merge(null);
      const merged = await score('merged');
      const fits = individualFitness.map((f) => f.accuracy);
      record({ generation, best: Math.max(...fits), mean: mean(fits), merged: merged.accuracy, accepted, evaluated: scored.length + 1 });
    }
  }

  let result: WeightSetId;
  let resultFitness: Fitness;
  if (settings.mode === 'merged') {
    // Leave the merged population in the merged set for export.
    await population.merge(null);
    result = 'merged';
    resultFitness = mergedFitness;
  } else {
    let best = 0;
    for (let i = 1; i < n; i++) if (isBetter(individualFitness[i], individualFitness[best])) best = i;
    result = best;
    resultFitness = individualFitness[best];
  }
  return {
    history,
    result,
    resultFitness,
    individualFitness,
    initialMergeFitness,
    evaluations,
    offspring,
    accepted: acceptedTotal,
    stopped,
  };
}
