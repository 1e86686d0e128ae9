/**
 * The Evolver (Du et al., ACL 2024) over a PopulationStore, independent of the
 * compute path, with the classic DE variants beside the paper's mutation:
 * - 'interpolate' (the paper): v = x_i + F·(x_r − x_i), r ≠ i a random peer;
 * - 'rand1': v = x_r1 + F·(x_r2 − x_r3); 'best1': v = x_best + F·(x_r1 − x_r2);
 * each with binomial crossover at rate CR plus one forced element (j_rand, which the
 * reference code lacks: without it an offspring can equal its parent and waste an
 * evaluation). Individuals are visited in a seeded random permutation each generation.
 * jDE (Brest et al. 2006) makes F and CR per individual: each trial resamples F in
 * [0.1, 1) and CR in [0, 1) with probability 0.1 each, and keeps them if the trial wins.
 *
 * Selection uses the dev split only:
 * - 'merged': the candidate's fitness is the dev score of the population merged
 *   (by the store's merger: average, RegMean, TIES, ...) with the candidate in place
 *   of x_i; accept if strictly better than the current merged score. The result is
 *   the merged population.
 * - 'individual': the candidate is scored alone against x_i's own score. The
 *   result is the best individual.
 * Fitness compares the way the dataset's task says (eval/tasks: its primary metric
 * first, then its tie-breaks); the charts get the primary metric's value.
 *
 * A run ends after its generations, when its evaluation budget would be exceeded, after
 * `patience` generations without a better selection score, or when asked to stop.
 */
import { CounterRng } from '../kernels/rng/rng.cpu';
import type { DeRoles } from '../kernels/de-step/de-step.cpu';
import type { PopulationStore } from '../population/population';
import type { WeightSetId } from '../protocol/results';
import type { EvolverSettings } from '../protocol/settings';
import type { Fitness, GenerationStat, StopReason } from '../protocol/results';
import type { ProgressEvent } from '../protocol/events';
import { bestFitness, compareFitness, primaryValue } from '../eval/tasks/registry';

/** Host-side random stream id, distinct from the per-offspring kernel streams (1, 2, ...). */
const HOST_STREAM = 0x9e3779b9;
/** jDE's resampling probabilities and F range (Brest et al. 2006). */
const JDE_TAU = 0.1;
const JDE_F_LOW = 0.1;
const JDE_F_SPAN = 0.9;

/** Strictly better in the task's fitness order (ties are not better: an equal offspring is rejected). */
export function isBetter(a: Fitness, b: Fitness): boolean {
  return compareFitness(a, b) > 0;
}

/** What a generation adds to its stat besides scores (the engine computes kinship here). */
export type GenerationExtras = Pick<GenerationStat, 'kinship'>;

export interface EvolverHooks {
  /** Scores a weight set on the dev split (or its selection subset). */
  score(set: WeightSetId): Promise<Fitness>;
  onProgress?(event: ProgressEvent): void;
  shouldStop?(): boolean;
  /** Called after each generation (0 included) with the set that is the result so far. */
  afterGeneration?(generation: number, result: WeightSetId): Promise<GenerationExtras | void>;
}

export interface EvolverOutcome {
  history: GenerationStat[];
  /** The set holding the result: 'merged' (merged population) or the best individual. */
  result: WeightSetId;
  resultFitness: Fitness;
  individualFitness: Fitness[];
  /** The individuals' fitness as loaded, before any offspring replaced them. */
  initialIndividualFitness: Fitness[];
  initialMergeFitness: Fitness;
  evaluations: number;
  offspring: number;
  accepted: number;
  stopped: boolean;
  stopReason: StopReason;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * k distinct indices of 0..n−1 in random order, drawn without `avoid` while enough
 * others exist (then the avoided ones join the draw).
 */
function distinctPicks(rng: CounterRng, n: number, k: number, avoid: readonly number[]): number[] {
  const preferred = Array.from({ length: n }, (_, i) => i).filter((i) => !avoid.includes(i));
  const rest = Array.from({ length: n }, (_, i) => i).filter((i) => avoid.includes(i));
  const picks: number[] = [];
  for (const pool of [preferred, rest]) {
    while (picks.length < k && pool.length > 0) picks.push(pool.splice(rng.nextInt(pool.length), 1)[0]!);
  }
  return rng.permutation(picks.length).map((i) => picks[i]!);
}

/**
 * The roles of one trial. With fewer individuals than a variant wants (DE/rand/1 needs
 * four), the target joins the draw, but plus and minus always differ.
 */
export function mutantRoles(rng: CounterRng, settings: EvolverSettings, n: number, target: number, best: number): DeRoles<number> {
  switch (settings.mutation) {
    case 'interpolate': {
      let donor = rng.nextInt(n - 1);
      if (donor >= target) donor++;
      return { target, base: target, plus: donor, minus: target };
    }
    case 'rand1': {
      const picks = distinctPicks(rng, n, Math.min(3, n), [target]);
      if (n >= 3) return { target, base: picks[0]!, plus: picks[1]!, minus: picks[2]! };
      return { target, base: picks[rng.nextInt(2)]!, plus: picks[0]!, minus: picks[1]! };
    }
    case 'best1': {
      const [plus, minus] = distinctPicks(rng, n, 2, [target, best]);
      return { target, base: best, plus: plus!, minus: minus! };
    }
  }
}

export async function runEvolver(population: PopulationStore, settings: EvolverSettings, hooks: EvolverHooks): Promise<EvolverOutcome> {
  const n = population.size;
  if (n < 2) throw new Error('The Evolver needs at least two checkpoints.');
  const rng = new CounterRng(settings.seed >>> 0, HOST_STREAM);
  let evaluations = 0;
  const score = async (set: WeightSetId) => {
    evaluations++;
    return hooks.score(set);
  };
  const merged = settings.mode === 'merged';

  const individualFitness: Fitness[] = [];
  for (let i = 0; i < n; i++) individualFitness.push(await score(i));
  const initialIndividualFitness = [...individualFitness];
  await population.merge(null);
  const initialMergeFitness = await score('merged');
  let mergedFitness = initialMergeFitness;
  // DE/best/1's base. In merged mode individuals are not re-scored alone after a win, so
  // the best stays the one that scored best as loaded (its slot evolves on).
  const bestIndividual = () => individualFitness.reduce((b, f, i) => (isBetter(f, individualFitness[b]!) ? i : b), 0);
  const resultSet = (): WeightSetId => (merged ? 'merged' : bestIndividual());
  const selectionFitness = () => (merged ? mergedFitness : individualFitness[bestIndividual()]!);

  const fs = new Array<number>(n).fill(settings.f);
  const crs = new Array<number>(n).fill(settings.cr);
  const adaptiveStat = () => (settings.adaptive ? { adaptive: { f: mean(fs), cr: mean(crs) } } : {});

  const history: GenerationStat[] = [];
  const record = async (stat: Omit<GenerationStat, 'evaluations'>) => {
    const extras = (await hooks.afterGeneration?.(stat.generation, resultSet())) ?? {};
    const full: GenerationStat = { ...stat, evaluations, ...extras, ...adaptiveStat() };
    history.push(full);
    hooks.onProgress?.({ type: 'generation', stat: full });
  };
  const best = (list: readonly Fitness[]) => primaryValue(bestFitness(list));
  await record({ generation: 0, best: best([...individualFitness, mergedFitness]), mean: mean(individualFitness.map(primaryValue)), merged: primaryValue(mergedFitness), accepted: 0, evaluated: n + 1 });

  // Individual mode scores the merge once per generation for the chart: keep room for it.
  const reserve = merged ? 0 : 1;
  const budgetLeft = (need: number) => settings.budget <= 0 || evaluations + need <= settings.budget;
  let offspring = 0;
  let acceptedTotal = 0;
  let stopReason: StopReason = 'completed';
  let sinceImprovement = 0;
  for (let generation = 1; generation <= settings.generations && stopReason === 'completed'; generation++) {
    const order = rng.permutation(n);
    const scored: Fitness[] = [];
    let accepted = 0;
    const before = selectionFitness();
    for (let k = 0; k < order.length; k++) {
      if (hooks.shouldStop?.()) {
        stopReason = 'user';
        break;
      }
      if (!budgetLeft(1 + reserve)) {
        stopReason = 'budget';
        break;
      }
      const target = order[k]!;
      const roles = mutantRoles(rng, settings, n, target, bestIndividual());
      const jRand = rng.nextInt(population.layout.totalSize);
      let f = fs[target]!;
      let cr = crs[target]!;
      if (settings.adaptive) {
        if (rng.nextUnit() < JDE_TAU) f = JDE_F_LOW + JDE_F_SPAN * rng.nextUnit();
        if (rng.nextUnit() < JDE_TAU) cr = rng.nextUnit();
      }
      offspring++;
      population.trial(roles, { f, cr, seed: settings.seed >>> 0, stream: offspring, jRand });

      let fitness: Fitness;
      let better: boolean;
      const previous = merged ? mergedFitness : individualFitness[target]!;
      if (merged) {
        await population.merge(target);
        fitness = await score('merged');
        better = isBetter(fitness, mergedFitness);
        if (better) mergedFitness = fitness;
      } else {
        fitness = await score('candidate');
        better = isBetter(fitness, individualFitness[target]!);
        if (better) individualFitness[target] = fitness;
      }
      if (better) {
        population.accept(target);
        fs[target] = f;
        crs[target] = cr;
        accepted++;
      }
      scored.push(fitness);
      hooks.onProgress?.({ type: 'offspring', generation, index: k + 1, perGeneration: n, individual: target, score: primaryValue(fitness), previousScore: primaryValue(previous), accepted: better });
    }
    if (scored.length === 0) break;
    acceptedTotal += accepted;

    if (merged) {
      await record({ generation, best: best([...scored, mergedFitness]), mean: mean(scored.map(primaryValue)), merged: primaryValue(mergedFitness), accepted, evaluated: scored.length });
    } else {
      // The merged score is shown for comparison only; it never drives selection here.
      await population.merge(null);
      const mergedNow = await score('merged');
      await record({ generation, best: best(individualFitness), mean: mean(individualFitness.map(primaryValue)), merged: primaryValue(mergedNow), accepted, evaluated: scored.length + 1 });
    }
    sinceImprovement = isBetter(selectionFitness(), before) ? 0 : sinceImprovement + 1;
    if (stopReason === 'completed' && settings.patience > 0 && sinceImprovement >= settings.patience && generation < settings.generations) {
      stopReason = 'patience';
    }
  }

  // Leave the merged population in the merged set for export.
  if (merged) await population.merge(null);
  const result = resultSet();
  return {
    history,
    result,
    resultFitness: merged ? mergedFitness : individualFitness[result as number]!,
    individualFitness,
    initialIndividualFitness,
    initialMergeFitness,
    evaluations,
    offspring,
    accepted: acceptedTotal,
    stopped: stopReason === 'user',
    stopReason,
  };
}
