/**
 * CMA-ES over merge recipes (mergekit-evolve's search): each candidate is a merge of the
 * original checkpoints with coefficients from recipe-space.ts, scored on the selection split.
 *
 * Elitist: the starting recipe (the run's merger as set, e.g. equal weights for linear) is
 * scored first and stays the result until a candidate scores strictly better, so the result is
 * never worse than the start on the selection split. The strategy's mean starts at that recipe.
 * A generation is λ candidates; a budget that ends inside one scores what it can and stops
 * (the partial generation is not told to the strategy). `generations`, `budget` (every selection
 * evaluation, the checkpoints' and the start's included, as for the Evolver), `patience`
 * (generations without a better result) and the strategy's own convergence end a run.
 *
 * With a validation slice (hooks.validate), every new best is scored on it when it is accepted;
 * the final pick (pick-final.ts) is the best of those by validation: early stopping.
 * Deterministic: the seed decides every sample; scores come through the caller's journal.
 */
import { primaryValue } from '../eval/tasks/registry';
import type { ProgressEvent } from '../protocol/events';
import type { Fitness, GenerationStat, StopReason, WeightSetId } from '../protocol/results';
import type { EvolverSettings, MergeParams } from '../protocol/settings';
import { CmaEs } from './cma-es';
import { compareFitness } from '../eval/tasks/registry';
import { isBetter } from './evolver';
import { recipeSpace } from './recipe-space';

/** Starting step size in the unit cube of recipe-space.ts (a fifth of each coefficient's range). */
export const CMA_RECIPE_SIGMA = 0.2;

export interface CmaRecipeHooks {
  /** Selection score of a set: the checkpoints (0..N−1) or 'candidate' (the recipe last loaded). */
  score(set: WeightSetId): Promise<Fitness>;
  /** Validation score of a set, when the run holds a validation slice. */
  validate?(set: WeightSetId): Promise<Fitness>;
  /** 'candidate' ← the original checkpoints merged with these settings. */
  loadRecipe(params: MergeParams): Promise<void>;
  onProgress?(event: ProgressEvent): void;
  shouldStop?(): boolean;
}

/** One accepted recipe: the start, then each new best on selection. */
export interface AcceptedRecipe {
  params: MergeParams;
  fitness: Fitness;
  validation: Fitness | null;
  generation: number;
}

export interface CmaRecipeOutcome {
  history: GenerationStat[];
  /** Accepted recipes in order: [0] is the start, the last is the result (best on selection). */
  accepted: AcceptedRecipe[];
  initialIndividualFitness: Fitness[];
  evaluations: number;
  validationEvaluations: number;
  offspring: number;
  stopReason: StopReason;
  /** Dimensions searched and candidates per generation (λ). */
  dimensions: number;
  populationSize: number;
}

/** Candidates per generation (λ) a CMA-ES run over these settings makes with this many checkpoints (the run panel's plan). */
export function cmaCandidatesPerGeneration(settings: EvolverSettings, modelCount: number): number {
  const n = recipeSpace(settings.merger, modelCount, settings.layerGroups ?? 1).coordinates.length;
  return new CmaEs({ mean: new Array<number>(n).fill(0.5), sigma: CMA_RECIPE_SIGMA, seed: 0 }).lambda;
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export async function runCmaEsRecipes(modelCount: number, settings: EvolverSettings, hooks: CmaRecipeHooks): Promise<CmaRecipeOutcome> {
  if (modelCount < 2) throw new Error('CMA-ES over merge recipes needs at least two checkpoints.');
  const space = recipeSpace(settings.merger, modelCount, settings.layerGroups ?? 1);
  const es = new CmaEs({
    mean: space.start,
    sigma: CMA_RECIPE_SIGMA,
    seed: settings.seed >>> 0,
    bounds: { lower: space.start.map(() => 0), upper: space.start.map(() => 1) },
  });
  let evaluations = 0;
  let validationEvaluations = 0;
  const score = (set: WeightSetId) => {
    evaluations++;
    return hooks.score(set);
  };
  const validate = async (): Promise<Fitness | null> => {
    if (!hooks.validate) return null;
    validationEvaluations++;
    return hooks.validate('candidate');
  };

  const individuals: Fitness[] = [];
  for (let i = 0; i < modelCount; i++) individuals.push(await score(i));
  await hooks.loadRecipe(settings.merger);
  const startFitness = await score('candidate');
  const accepted: AcceptedRecipe[] = [{ params: settings.merger, fitness: startFitness, validation: await validate(), generation: 0 }];
  const best = () => accepted.at(-1)!;

  const history: GenerationStat[] = [];
  const record = (stat: Omit<GenerationStat, 'evaluations' | 'validation'>) => {
    const v = best().validation;
    const full: GenerationStat = { ...stat, evaluations, ...(v ? { validation: primaryValue(v) } : {}) };
    history.push(full);
    hooks.onProgress?.({ type: 'generation', stat: full });
  };
  const top = (list: readonly Fitness[]) => list.reduce((b, f) => (isBetter(f, b) ? f : b));
  record({ generation: 0, best: primaryValue(top([...individuals, startFitness])), mean: mean(individuals.map(primaryValue)), merged: primaryValue(startFitness), accepted: 0, evaluated: modelCount + 1 });

  let offspring = 0;
  let stopReason: StopReason = 'completed';
  let sinceImprovement = 0;
  for (let generation = 1; generation <= settings.generations && stopReason === 'completed'; generation++) {
    const samples = es.ask();
    const scored: Fitness[] = [];
    const before = best().fitness;
    let acceptedNow = 0;
    for (const [k, sample] of samples.entries()) {
      if (hooks.shouldStop?.()) {
        stopReason = 'user';
        break;
      }
      if (settings.budget > 0 && evaluations + 1 > settings.budget) {
        stopReason = 'budget';
        break;
      }
      const params = space.decode(sample.x);
      await hooks.loadRecipe(params);
      offspring++;
      const fitness = await score('candidate');
      const previous = best().fitness;
      const better = isBetter(fitness, previous);
      if (better) {
        accepted.push({ params, fitness, validation: await validate(), generation });
        acceptedNow++;
      }
      scored.push(fitness);
      hooks.onProgress?.({ type: 'offspring', generation, index: k + 1, perGeneration: samples.length, individual: null, score: primaryValue(fitness), previousScore: primaryValue(previous), accepted: better });
    }
    if (scored.length === 0) break;
    if (scored.length === samples.length) {
      // Best first; equal scores in sampling order, so the ranking is a function of the scores.
      es.tell(scored.map((_, i) => i).sort((a, b) => compareFitness(scored[b]!, scored[a]!) || a - b));
    }
    record({ generation, best: primaryValue(top([...scored, best().fitness])), mean: mean(scored.map(primaryValue)), merged: primaryValue(best().fitness), accepted: acceptedNow, evaluated: scored.length });
    sinceImprovement = isBetter(best().fitness, before) ? 0 : sinceImprovement + 1;
    if (stopReason !== 'completed') break;
    if (settings.patience > 0 && sinceImprovement >= settings.patience && generation < settings.generations) stopReason = 'patience';
    else if (es.stopReason() && generation < settings.generations) stopReason = 'converged';
  }
  return {
    history,
    accepted,
    initialIndividualFitness: individuals,
    evaluations,
    validationEvaluations,
    offspring,
    stopReason,
    dimensions: space.coordinates.length,
    populationSize: es.lambda,
  };
}
