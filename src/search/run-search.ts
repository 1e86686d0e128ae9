/**
 * One search over a prepared population: the Evolver (its starting merge scored first),
 * Top-k kinship merging, or CMA-ES over merge recipes, with kinship tracked per generation
 * (Evolver, Top-k). Returns what the run report needs, whichever search ran; scoring, pausing
 * and stopping come from the caller's hooks.
 *
 * The validation rule (hooks.validate, with a validation slice): every strategy's result so far
 * is scored on the slice per generation, and the exported model is the best on it of the start
 * and the accepted candidates (pick-final.ts): for the Evolver and Top-k, the start or the
 * result (their intermediate states are not kept); for CMA-ES, any recipe it accepted.
 */
import { fitnessOf, primaryValue } from '../eval/tasks/registry';
import type { PopulationStore } from '../population/population';
import type { ProgressEvent } from '../protocol/events';
import type { Fitness, GenerationStat, ModelScores, RunResult, StopReason, ValidationReport, WeightSetId } from '../protocol/results';
import type { EvolverSettings, MergeParams } from '../protocol/settings';
import { describeMerge } from '../merge/params';
import { runCmaEsRecipes } from './cma-es-search';
import { isBetter, runEvolver } from './evolver';
import { pickFinal } from './pick-final';
import { meanPairwise } from './kinship';
import type { KinshipTracker } from './kinship-tracker';
import { runKinshipTopK } from './kinship-topk';

export interface SearchHooks {
  /** The selection score of a weight set (journalled, paused and yielded by the caller). */
  score(set: WeightSetId): Promise<Fitness>;
  /** Dev and held-out scores of a weight set, for the report (never for selection). */
  report(name: string, set: WeightSetId): Promise<ModelScores>;
  onProgress(event: ProgressEvent): void;
  shouldStop(): boolean;
  kinship: KinshipTracker;
  /** With a validation slice: the validation score of a set (journalled by the caller). */
  validate?(set: WeightSetId): Promise<Fitness>;
  /** Sizes for the validation report. */
  validationRows?: { rows: number; selectionRows: number };
  /** CMA-ES: 'candidate' ← the original checkpoints merged with these settings. */
  loadRecipe?(params: MergeParams): Promise<void>;
}

/** What the caller exports: a set of the population, the starting merge rebuilt from the checkpoints, or 'candidate' holding a recipe. */
export type ExportedModel = { kind: 'set'; set: WeightSetId } | { kind: 'start-merge' } | { kind: 'recipe'; params: MergeParams };

export interface SearchOutcome {
  result: WeightSetId;
  resultName: string;
  history: GenerationStat[];
  evaluations: number;
  offspring: number;
  accepted: number;
  stopReason: StopReason;
  /** Where the search started: the population merged (Evolver) or the best checkpoint (Top-k). */
  initialMerge: ModelScores;
  lineage: RunResult['lineage'];
  /** Selection scores of the starting points (checkpoints, then the starting merge) and of the result, for the subset report. */
  selectionStart: Fitness[];
  selectionResult: Fitness;
  /** The model to export (the search's result unless the validation rule chose another). */
  exported: ExportedModel;
  validation: ValidationReport | null;
  validationEvaluations: number;
  /** CMA-ES: the exported recipe. */
  recipe: MergeParams | null;
}

/** names: the checkpoints' names in population order; individuals: their scores. */
export async function runSearch(
  population: PopulationStore,
  names: readonly string[],
  individuals: readonly ModelScores[],
  settings: EvolverSettings,
  mergerLabel: string,
  hooks: SearchHooks,
): Promise<SearchOutcome> {
  const { score, onProgress, shouldStop, kinship } = hooks;
  let validationEvaluations = 0;
  const validate = hooks.validate
    ? async (set: WeightSetId) => {
        validationEvaluations++;
        return hooks.validate!(set);
      }
    : null;
  const pick = (validation: Fitness[], startName: string, candidateName?: (i: number) => string) =>
    pickFinal({ validation, pick: settings.pick ?? 'validation', fraction: settings.validation ?? 0, rows: hooks.validationRows?.rows ?? 0, selectionRows: hooks.validationRows?.selectionRows ?? 0, startName, candidateName });
  if (settings.strategy === 'cma_es') return runCma(names, settings, mergerLabel, hooks);
  if (settings.strategy === 'kinship_topk') {
    const bestIndex = individuals.reduce((b, m, i) => (isBetter(fitnessOf(m.dev), fitnessOf(individuals[b]!.dev)) ? i : b), 0);
    const startValidation = validate ? await validate(bestIndex) : null;
    const top = await runKinshipTopK(population, names, settings, {
      score,
      onProgress,
      shouldStop,
      kinship: async (sets, setNames, report) => (await kinship.matrix(sets, setNames, report?.round ?? null)).overall,
      ...(validate ? { validate } : {}),
    });
    const bestCheckpoint = individuals[bestIndex]!;
    const chosen = validate && startValidation ? pick([startValidation, await validate(top.result)], 'the best checkpoint') : null;
    const useStart = chosen !== null && chosen.index === 0;
    return {
      ...top,
      resultName: useStart ? `best checkpoint (${bestCheckpoint.name})` : `top-k ${top.resultNode.name} (${mergerLabel})`,
      result: useStart ? bestIndex : top.result,
      initialMerge: { ...bestCheckpoint, name: `best checkpoint (${bestCheckpoint.name})` },
      lineage: { nodes: top.lineage, result: top.resultNode.id },
      offspring: top.merges,
      accepted: top.lineage.filter((l) => l.inTopK && l.parents).length,
      selectionStart: top.seedFitness,
      selectionResult: useStart ? top.seedFitness[bestIndex]! : top.resultFitness,
      exported: { kind: 'set', set: useStart ? bestIndex : top.result },
      validation: chosen?.report ?? null,
      validationEvaluations,
      recipe: null,
    };
  }
  await population.merge(null);
  const initialMerge = await hooks.report(mergerLabel, 'merged');
  const startValidation = validate ? await validate('merged') : null;
  const evolved = await runEvolver(population, settings, {
    score,
    onProgress,
    shouldStop,
    afterGeneration: async (generation, result) => {
      // The merged set holds the last candidate tried: merge the population itself before scoring it.
      if (validate && result === 'merged') await population.merge(null);
      const validation = validate ? { validation: primaryValue(await validate(result)) } : {};
      const sets: WeightSetId[] = [...names.keys(), ...(result === 'merged' ? ['merged' as const] : [])];
      const report = await kinship.matrix(sets, [...names, ...(result === 'merged' ? ['merged'] : [])], generation);
      const resultIndex = result === 'merged' ? names.length : (result as number);
      const parents = names.map((_, i) => i).filter((i) => i !== resultIndex);
      return {
        kinship: {
          population: meanPairwise(report.overall, 'pearson', names.map((_, i) => i)),
          bestToParents: mean(parents.map((i) => report.overall[resultIndex]![i]!.pearson).filter((v) => !Number.isNaN(v))),
        },
        ...validation,
      };
    },
  });
  const chosen = validate && startValidation ? pick([startValidation, await validate(evolved.result)], 'the starting merge') : null;
  const useStart = chosen !== null && chosen.index === 0;
  return {
    ...evolved,
    resultName: useStart ? mergerLabel : evolved.result === 'merged' ? `evolved merge (${mergerLabel})` : `evolved ${names[evolved.result as number]!}`,
    initialMerge,
    lineage: null,
    selectionStart: [...evolved.initialIndividualFitness, evolved.initialMergeFitness],
    selectionResult: useStart ? evolved.initialMergeFitness : evolved.resultFitness,
    exported: useStart ? { kind: 'start-merge' } : { kind: 'set', set: evolved.result },
    validation: chosen?.report ?? null,
    validationEvaluations,
    recipe: null,
  };
}

/** CMA-ES over recipes: candidates are merged into 'candidate' by hooks.loadRecipe. */
async function runCma(names: readonly string[], settings: EvolverSettings, mergerLabel: string, hooks: SearchHooks): Promise<SearchOutcome> {
  const loadRecipe = hooks.loadRecipe;
  if (!loadRecipe) throw new Error('CMA-ES needs a way to merge recipes (hooks.loadRecipe).');
  const outcome = await runCmaEsRecipes(names.length, settings, { score: hooks.score, validate: hooks.validate, loadRecipe, onProgress: hooks.onProgress, shouldStop: hooks.shouldStop });
  const { accepted } = outcome;
  const last = accepted.length - 1;
  const validation = accepted.every((a) => a.validation !== null) && hooks.validate ? accepted.map((a) => a.validation!) : null;
  const chosen = validation
    ? pickFinal({
        validation,
        pick: settings.pick ?? 'validation',
        fraction: settings.validation ?? 0,
        rows: hooks.validationRows?.rows ?? 0,
        selectionRows: hooks.validationRows?.selectionRows ?? 0,
        startName: 'the starting recipe',
        candidateName: (i) => `the best recipe of generation ${accepted[i]!.generation}`,
      })
    : null;
  const index = chosen?.index ?? last;
  await loadRecipe(settings.merger);
  const initialMerge = await hooks.report(mergerLabel, 'candidate');
  const recipe = accepted[index]!.params;
  await loadRecipe(recipe);
  return {
    result: 'candidate',
    resultName: index === 0 ? mergerLabel : `CMA-ES recipe: ${describeMerge(recipe)}`,
    history: outcome.history,
    evaluations: outcome.evaluations,
    offspring: outcome.offspring,
    accepted: last,
    stopReason: outcome.stopReason,
    initialMerge,
    lineage: null,
    selectionStart: [...outcome.initialIndividualFitness, accepted[0]!.fitness],
    selectionResult: accepted[index]!.fitness,
    exported: { kind: 'recipe', params: recipe },
    validation: chosen?.report ?? null,
    validationEvaluations: outcome.validationEvaluations,
    recipe,
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
