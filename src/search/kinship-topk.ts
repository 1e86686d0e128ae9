/**
 * Top-k greedy merging with model kinship (Hu et al. 2024), over a PopulationStore.
 *
 * Round 1 merges every pair of the loaded checkpoints (the seeds) with the store's
 * merger (SLERP, average, task arithmetic, ...) and keeps the k best models of seeds
 * and merges by dev score. Each later round merges every pair of the top-k that was
 * never merged before, plus one exploration merge: the best model with the model of
 * LOWEST kinship to it (Pearson of task vectors) among the models held (the top-k and
 * the seeds) that it was never merged with and that this round does not merge it with
 * already. As every untried top-k pair is merged anyway, the exploration partner is in
 * practice a seed that fell out of the top-k: this lets the search leave a saturated
 * top-k (kinship near 1 among the top models), which is what exploration is for. The search stops when a round leaves the
 * top-k set unchanged, after `generations` rounds, on the evaluation budget, or after
 * `patience` rounds without a better best.
 *
 * Only the seeds, the current top-k and the round's new merges hold weights; a merge
 * that is not in the top-k when its round ends is released. Every model made is kept in the lineage (its
 * parents, their kinship, its score), which the studio draws and exports.
 * Selection uses the dev split only. Deterministic: no random draws at all.
 */
import { isBetter } from './evolver';
import type { KinshipMetrics } from '../protocol/results';
import type { PopulationStore } from '../population/population';
import type { WeightSetId } from '../protocol/results';
import type { EvolverSettings } from '../protocol/settings';
import type { Fitness, GenerationStat, StopReason } from '../protocol/results';
import type { ProgressEvent } from '../protocol/events';
import { type LineageNode } from '../protocol/results';
import { bestFitness, primaryValue } from '../eval/tasks/registry';

export interface TopKHooks {
  score(set: WeightSetId): Promise<Fitness>;
  /** Pairwise kinship of individuals (store indices), names for the report; emits the heatmap when `report` is set. */
  kinship(sets: readonly number[], names: readonly string[], report: { round: number } | null): Promise<KinshipMetrics[][]>;
  onProgress?(event: ProgressEvent): void;
  shouldStop?(): boolean;
  /** With a validation slice: the validation score of a slot (the best of each round is charted by it). */
  validate?(slot: number): Promise<Fitness>;
}

export interface TopKOutcome {
  history: GenerationStat[];
  lineage: LineageNode[];
  /** Store index of the best model. */
  result: number;
  resultNode: LineageNode;
  resultFitness: Fitness;
  seedFitness: Fitness[];
  evaluations: number;
  merges: number;
  stopReason: StopReason;
}

interface Live {
  node: LineageNode;
  /** Store index holding its weights. */
  slot: number;
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

const pairKey = (a: number, b: number) => (a < b ? `${a}|${b}` : `${b}|${a}`);

export async function runKinshipTopK(store: PopulationStore, seedNames: readonly string[], settings: EvolverSettings, hooks: TopKHooks): Promise<TopKOutcome> {
  const n = store.size;
  if (n < 2) throw new Error('Top-k merging needs at least two checkpoints.');
  const k = Math.max(1, Math.floor(settings.topK));
  let evaluations = 0;
  const lineage: LineageNode[] = [];
  const seeds: Live[] = [];
  for (let i = 0; i < n; i++) {
    evaluations++;
    const fitness = await hooks.score(i);
    const node: LineageNode = { id: i, name: seedNames[i]!, parents: null, parentKinship: null, kinshipToParents: null, round: 0, exploration: false, fitness, inTopK: false };
    lineage.push(node);
    seeds.push({ node, slot: i });
  }
  const isSeed = (live: Live) => live.node.parents === null;
  const rank = (a: Live, b: Live) => (isBetter(a.node.fitness, b.node.fitness) ? -1 : isBetter(b.node.fitness, a.node.fitness) ? 1 : a.node.id - b.node.id);
  let top: Live[] = [...seeds].sort(rank).slice(0, k);
  const tried = new Set<string>();

  const history: GenerationStat[] = [];
  const record = async (round: number, merged: Fitness[], entered: number) => {
    const best = top[0]!.node;
    const pearson = await hooks.kinship(top.map((l) => l.slot), top.map((l) => l.node.name), { round });
    const pairs: number[] = [];
    for (let a = 0; a < top.length; a++) for (let b = a + 1; b < top.length; b++) pairs.push(pearson[a]![b]!.pearson);
    const stat: GenerationStat = {
      generation: round,
      best: primaryValue(best.fitness),
      mean: mean(top.map((l) => primaryValue(l.node.fitness))),
      merged: primaryValue(merged.length > 0 ? bestFitness(merged) : best.fitness),
      accepted: entered,
      evaluated: round === 0 ? n : merged.length,
      evaluations,
      kinship: { population: mean(pairs.filter((v) => !Number.isNaN(v))), bestToParents: best.kinshipToParents ? mean(best.kinshipToParents) : NaN },
      ...(hooks.validate ? { validation: primaryValue(await hooks.validate(top[0]!.slot)) } : {}),
    };
    history.push(stat);
    hooks.onProgress?.({ type: 'generation', stat });
  };
  await record(0, [], 0);

  let stopReason: StopReason = 'completed';
  let sinceImprovement = 0;
  let merges = 0;
  for (let round = 1; round <= settings.generations && stopReason === 'completed'; round++) {
    const bestBefore = top[0]!.node.fitness;
    const topBefore = top.map((l) => l.node.id).join(',');
    const candidates: { a: Live; b: Live; exploration: boolean }[] = [];
    const pool = round === 1 ? seeds : top;
    for (let i = 0; i < pool.length; i++) {
      for (let j = i + 1; j < pool.length; j++) {
        if (!tried.has(pairKey(pool[i]!.node.id, pool[j]!.node.id))) candidates.push({ a: pool[i]!, b: pool[j]!, exploration: false });
      }
    }
    // Exploration: the best with its lowest-kinship partner among the models held, not merged with it yet.
    const best = top[0]!;
    const held = [...top.slice(1), ...seeds.filter((s) => !top.includes(s))];
    const open = held.filter((p) => !tried.has(pairKey(best.node.id, p.node.id)) && !candidates.some((c) => (c.a === best && c.b === p) || (c.a === p && c.b === best)));
    if (open.length > 0) {
      const pearson = await hooks.kinship([best.slot, ...open.map((p) => p.slot)], [best.node.name, ...open.map((p) => p.node.name)], null);
      // NaN (a model equal to the reference) says nothing about kinship: chosen last.
      const kin = (i: number) => pearson[0]![i + 1]!.pearson;
      let partner = 0;
      for (let i = 1; i < open.length; i++) if (Number.isNaN(kin(partner)) || kin(i) < kin(partner)) partner = i;
      candidates.push({ a: best, b: open[partner]!, exploration: true });
    }
    if (candidates.length === 0) {
      stopReason = 'converged';
      break;
    }

    const scoredThisRound: Fitness[] = [];
    const dropping: Live[] = [];
    for (const { a, b, exploration } of candidates) {
      if (hooks.shouldStop?.()) {
        stopReason = 'user';
        break;
      }
      if (settings.budget > 0 && evaluations + 1 > settings.budget) {
        stopReason = 'budget';
        break;
      }
      tried.add(pairKey(a.node.id, b.node.id));
      const slot = store.allocate();
      await store.mergeInto([a.slot, b.slot], slot);
      evaluations++;
      merges++;
      const fitness = await hooks.score(slot);
      const kin = await hooks.kinship([slot, a.slot, b.slot], ['child', a.node.name, b.node.name], null);
      const id = lineage.length;
      const node: LineageNode = {
        id,
        name: `m${id}`,
        parents: [a.node.id, b.node.id],
        parentKinship: kin[1]![2]!.pearson,
        kinshipToParents: [kin[0]![1]!.pearson, kin[0]![2]!.pearson],
        round,
        exploration,
        fitness,
        inTopK: false,
      };
      lineage.push(node);
      scoredThisRound.push(fitness);
      hooks.onProgress?.({ type: 'offspring', generation: round, index: scoredThisRound.length, perGeneration: candidates.length, individual: null, score: primaryValue(fitness), previousScore: null, accepted: false });
      const ranked = [...top, { node, slot }].sort(rank);
      top = ranked.slice(0, k);
      // Dropped merges are released when the round ends: a later candidate may still merge them.
      for (const dropped of ranked.slice(k)) if (!isSeed(dropped)) dropping.push(dropped);
    }
    for (const dropped of dropping) store.release(dropped.slot);
    const entered = top.filter((l) => l.node.round === round).length;
    if (scoredThisRound.length > 0) await record(round, scoredThisRound, entered);
    if (stopReason !== 'completed') break;
    if (top.map((l) => l.node.id).join(',') === topBefore) stopReason = 'converged';
    sinceImprovement = isBetter(top[0]!.node.fitness, bestBefore) ? 0 : sinceImprovement + 1;
    if (stopReason === 'completed' && settings.patience > 0 && sinceImprovement >= settings.patience && round < settings.generations) stopReason = 'patience';
  }

  for (const live of top) live.node.inTopK = true;
  const winner = top[0]!;
  return {
    history,
    lineage,
    result: winner.slot,
    resultNode: winner.node,
    resultFitness: winner.node.fitness,
    seedFitness: seeds.map((s) => s.node.fitness),
    evaluations,
    merges,
    stopReason,
  };
}

/** The ancestry of a node as nested text lines (for the model card and the CLI). */
export function describeLineage(lineage: readonly LineageNode[], id: number, depth = 0): string[] {
  const node = lineage[id]!;
  const pad = '  '.repeat(depth);
  const acc = primaryValue(node.fitness).toFixed(4);
  if (!node.parents) return [`${pad}${node.name} (seed, dev ${acc})`];
  const kin = node.parentKinship === null || Number.isNaN(node.parentKinship) ? '' : `, parents' kinship ${node.parentKinship.toFixed(4)}`;
  return [
    `${pad}${node.name} = merge(${lineage[node.parents[0]]!.name}, ${lineage[node.parents[1]]!.name}) (round ${node.round}${node.exploration ? ', exploration' : ''}, dev ${acc}${kin})`,
    ...describeLineage(lineage, node.parents[0], depth + 1),
    ...describeLineage(lineage, node.parents[1], depth + 1),
  ];
}
