/**
 * One search over a prepared population: the Evolver (its starting merge scored first) or
 * Top-k kinship merging, with kinship tracked per generation. Returns what the run report
 * needs, whichever search ran; scoring, pausing and stopping come from the caller's hooks.
 */
import { fitnessOf } from '../eval/tasks/registry';
import type { PopulationStore } from '../population/population';
import type { ProgressEvent } from '../protocol/events';
import type { Fitness, GenerationStat, ModelScores, RunResult, StopReason, WeightSetId } from '../protocol/results';
import type { EvolverSettings } from '../protocol/settings';
import { isBetter, runEvolver } from './evolver';
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
}

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
  if (settings.strategy === 'kinship_topk') {
    const top = await runKinshipTopK(population, names, settings, {
      score,
      onProgress,
      shouldStop,
      kinship: async (sets, setNames, report) => (await kinship.matrix(sets, setNames, report?.round ?? null)).overall,
    });
    const bestCheckpoint = individuals.reduce((b, m) => (isBetter(fitnessOf(m.dev), fitnessOf(b.dev)) ? m : b));
    return {
      ...top,
      resultName: `top-k ${top.resultNode.name} (${mergerLabel})`,
      initialMerge: { ...bestCheckpoint, name: `best checkpoint (${bestCheckpoint.name})` },
      lineage: { nodes: top.lineage, result: top.resultNode.id },
      offspring: top.merges,
      accepted: top.lineage.filter((l) => l.inTopK && l.parents).length,
      selectionStart: top.seedFitness,
      selectionResult: top.resultFitness,
    };
  }
  await population.merge(null);
  const initialMerge = await hooks.report(mergerLabel, 'merged');
  const evolved = await runEvolver(population, settings, {
    score,
    onProgress,
    shouldStop,
    afterGeneration: async (generation, result) => {
      const sets: WeightSetId[] = [...names.keys(), ...(result === 'merged' ? ['merged' as const] : [])];
      const report = await kinship.matrix(sets, [...names, ...(result === 'merged' ? ['merged'] : [])], generation);
      const resultIndex = result === 'merged' ? names.length : (result as number);
      const parents = names.map((_, i) => i).filter((i) => i !== resultIndex);
      return {
        kinship: {
          population: meanPairwise(report.overall, 'pearson', names.map((_, i) => i)),
          bestToParents: mean(parents.map((i) => report.overall[resultIndex]![i]!.pearson).filter((v) => !Number.isNaN(v))),
        },
      };
    },
  });
  return {
    ...evolved,
    resultName: evolved.result === 'merged' ? `evolved merge (${mergerLabel})` : `evolved ${names[evolved.result as number]!}`,
    initialMerge,
    lineage: null,
    selectionStart: [...evolved.initialIndividualFitness, evolved.initialMergeFitness],
    selectionResult: evolved.resultFitness,
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
