/**
 * What a run reports: scores, per-generation statistics, kinship, lineage, counters and the
 * journal of selection scores. Plain data (structured-clone safe).
 */
import { type ComputePath, type SearchStrategy, type EvolverSettings, type MergeParams } from './settings';

/** Why a search ended. */
export type StopReason = 'completed' | 'budget' | 'patience' | 'user' | 'converged';

/**
 * A selection score: the values of the task's fitness metrics (eval/tasks), primary first, then
 * its tie-breaks. Only the task knows which way each is better, so compare with its order.
 */
export interface Fitness {
  /** The task's id (eval/tasks/registry). */
  task: string;
  values: number[];
}

/** How a task's metric is named and shown: table headers, chart axes, CSV columns. */
export interface MetricDescriptor {
  /** Key in Scores.metrics. */
  key: string;
  /** Full name, e.g. for a chart title ("Dev <label> per generation"). */
  label: string;
  /** Table header, e.g. "<Split> <short>". */
  short: string;
  higherIsBetter: boolean;
  /** 'percent': a fraction shown as %; 'decimal': shown as it is. */
  format: 'percent' | 'decimal';
}

export interface GenerationStat {
  /** Evolver: generation; Top-k: round. 0 = the starting population. */
  generation: number;
  /** The task's primary metric (dev): the best of what this generation scored, offspring or the population itself. */
  best: number;
  /** Mean primary metric of what this generation scored. */
  mean: number;
  /** Primary metric of the population merged (by the run's merger). */
  merged: number;
  accepted: number;
  evaluated: number;
  /** Dev evaluations spent so far, this generation's included. */
  evaluations: number;
  /**
   * Pearson kinship of task vectors: mean over pairs of the population (Top-k: of the top-k
   * set), the saturation signal, and mean of the best model to its parents (Evolver: the
   * result to the individuals it comes from; Top-k: the best merge to the two it merged).
   */
  kinship?: { population: number; bestToParents: number };
  /** jDE: the population's mean F and CR after this generation. */
  adaptive?: { f: number; cr: number };
  /**
   * With a validation slice: the primary metric on it of the search's result so far (the
   * merged population, the best model, CMA-ES's best recipe). Never used for selection.
   */
  validation?: number;
}

export interface ModelScores {
  name: string;
  dev: Scores;
  heldout: Scores | null;
  /** With a validation slice (part of dev, kept apart from selection): the scores on it. */
  validation?: Scores | null;
}

export interface RunCounters {
  sessionsCreated: number;
  /** Sessions created after the run's first evaluation: must stay 0. */
  sessionsCreatedDuringRun: number;
  /**
   * Bytes our kernels copied GPU→CPU while offspring were made and scored: 0 on WebGPU for
   * the task-vector mergers (no weight byte comes back); SLERP and model stock read 16 bytes
   * of dot products per tensor. (ORT's logits read-back is not counted: it is not weights.)
   */
  gpuBytesReadBackDuringRun: number;
  /** Kinship moments read back during the run (32 bytes per tensor and pair; not weights). */
  kinshipBytesReadBack: number;
  evaluations: number;
  /** Of those, scores replayed from a stored journal (a resumed run) rather than evaluated. */
  replayedEvaluations: number;
  offspring: number;
  accepted: number;
  msPerEvaluation: number;
  /** Evaluations of the validation slice (not selection: outside the budget). */
  validationEvaluations?: number;
}

/**
 * The validation rule's outcome: the final model is the best on the validation slice of the
 * starting point and the search's accepted candidates, unless the settings ask for the
 * search's result (pick 'search').
 */
export interface ValidationReport {
  fraction: number;
  /** Rows of the validation slice, and of the dev rows left for selection. */
  rows: number;
  selectionRows: number;
  /** Primary metric on validation of the starting point, of the search's result (best on selection) and of the exported model. */
  start: number;
  searchResult: number;
  exported: number;
  /** The search's result scores below its starting point on validation: it fitted the selection rows. */
  resultBelowStart: boolean;
  /** What is exported: the starting point, the search's result, or an earlier accepted candidate (early stopping). */
  choice: 'start' | 'search-result' | 'earlier-candidate';
  /** Plain words for the studio and the CLI. */
  message: string;
}

/** Selection on a dev subset: how far its ranking agrees with the whole dev split. */
export interface SubsetReport {
  rows: number;
  devRows: number;
  /** Models scored on both: the loaded checkpoints, the starting point and the result. */
  models: string[];
  /** Pairs of those models ordered the same way by the subset and by the whole dev split. */
  agreeingPairs: number;
  pairs: number;
}

export interface RunResult {
  /** 'evolver': a run of the Evolver; 'kinship_topk': Top-k kinship merging; 'merge': a one-shot merge. */
  strategy: SearchStrategy | 'merge';
  settings: EvolverSettings;
  /** Human-readable merger, e.g. "TIES (density 0.5, λ 1)". */
  mergerLabel: string;
  path: ComputePath;
  stopped: boolean;
  stopReason: StopReason;
  history: GenerationStat[];
  individuals: ModelScores[];
  /** Where the search started: the population merged (Evolver, merge) or the best checkpoint (Top-k). */
  initialMerge: ModelScores;
  final: ModelScores;
  counters: RunCounters;
  /** Pairwise kinship of the population (Top-k: the top-k set) when the run ended. */
  kinship: KinshipReport | null;
  /** Top-k: every model made, with its parents, and the id of the result among them. */
  lineage: { nodes: LineageNode[]; result: number } | null;
  subset: SubsetReport | null;
  /** With a validation slice: how the final model was chosen. */
  validation?: ValidationReport | null;
  /** CMA-ES: the merge settings of the exported model (they merge it again from the checkpoints alone). */
  recipe?: MergeParams | null;
}

export interface DomainScore {
  /** Domain name; the pooled entry over all rows is named 'all' and comes first. */
  domain: string;
  size: number;
  /** The task's metrics over this domain's rows, by MetricDescriptor.key. */
  metrics: Record<string, number>;
}

/** A model's scores on a split, as its task (Scores.task) measures them. */
export interface Scores {
  task: string;
  /** Over all rows: byDomain[0].metrics. */
  metrics: Record<string, number>;
  size: number;
  /** byDomain[0] is the pooled 'all' entry, then one entry per domain in ds.domainNames order. */
  byDomain: DomainScore[];
}

export interface KinshipMetrics {
  pearson: number;
  cosine: number;
  euclidean: number;
}

export type KinshipMetricName = keyof KinshipMetrics;

export const KINSHIP_METRIC_LABELS: Record<KinshipMetricName, string> = {
  pearson: 'Pearson correlation',
  cosine: 'cosine similarity',
  euclidean: 'Euclidean distance',
};

export type KinshipReferenceKind = 'base' | 'population-mean';

export interface KinshipReport {
  /** Models compared, in matrix order. */
  names: string[];
  reference: { kind: KinshipReferenceKind; label: string };
  /** Symmetric N×N over every merged parameter; the diagonal is (1, 1, 0). */
  overall: KinshipMetrics[][];
  /** The same per layer (layout order of first appearance). */
  layers: { name: string; matrix: KinshipMetrics[][] }[];
}

export interface LineageNode {
  /** Creation order; the seeds are 0..N−1. */
  id: number;
  /** The checkpoint's name for seeds, "m<id>" for merges. */
  name: string;
  /** Node ids of the two models merged, or null for a seed. */
  parents: [number, number] | null;
  /** Pearson kinship between the parents when they were merged. */
  parentKinship: number | null;
  /** Pearson kinship of this merge to each parent. */
  kinshipToParents: [number, number] | null;
  /** 0 for seeds. */
  round: number;
  /** Made by the kinship exploration step (best × its lowest-kinship partner). */
  exploration: boolean;
  /** Selection fitness (dev, or the dev subset). */
  fitness: Fitness;
  /** In the top-k when the search ended. */
  inTopK: boolean;
}

export interface JournalEntry {
  /** What was scored, checked on replay: a journal from another run cannot be replayed silently. */
  set: WeightSetId;
  fitness: Fitness;
  /** A score of the validation slice (absent: the selection split). */
  split?: 'validation';
}

export type WeightSetId = number | 'candidate' | 'merged';
