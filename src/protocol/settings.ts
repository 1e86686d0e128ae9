/**
 * What a run is asked to do: the search's and the merger's settings. Plain data: crosses the
 * worker boundary, is stored in projects and recipes. The bottom room: imports nothing.
 */
/** How the Evolver scores a candidate (see shared notes: "with merger" / "without merger"). */
export type SelectionMode = 'merged' | 'individual';

/** Which compute path runs kernels and evaluation. 'auto' = WebGPU unless missing or software. */
export type ComputePreference = 'auto' | 'webgpu' | 'wasm';

export type ComputePath = 'webgpu' | 'wasm';

/**
 * The search: the Evolver (differential evolution over the population), Top-k greedy merging
 * with model kinship, or CMA-ES over the merge method's coefficients (the recipe, not the weights).
 */
export type SearchStrategy = 'evolver' | 'kinship_topk' | 'cma_es';

/**
 * Which model a run with a validation slice exports: 'validation' = the best on validation of the
 * starting point and the search's accepted candidates (early stopping); 'search' = the search's
 * result (the best on the selection split) even when it is worse on validation.
 */
export type FinalPick = 'validation' | 'search';

/**
 * How the Evolver builds a mutant for target x_i (each with binomial crossover and j_rand):
 * - 'interpolate': the paper's v = x_i + F·(x_r − x_i) toward one random peer;
 * - 'rand1': DE/rand/1, v = x_r1 + F·(x_r2 − x_r3);
 * - 'best1': DE/best/1, v = x_best + F·(x_r1 − x_r2).
 */
export type MutationStrategy = 'interpolate' | 'rand1' | 'best1';

export const MUTATION_LABELS: Record<MutationStrategy, string> = {
  interpolate: 'Evolver (paper): interpolate toward a peer',
  rand1: 'DE/rand/1',
  best1: 'DE/best/1',
};

export interface EvolverSettings {
  strategy: SearchStrategy;
  mutation: MutationStrategy;
  /** jDE: each individual carries its own F and CR, resampled with probability 0.1 per trial and kept when the trial wins. */
  adaptive: boolean;
  /** Mutation scale F (the starting value under jDE). */
  f: number;
  /** Crossover rate CR: probability that an element takes the mutant value. */
  cr: number;
  generations: number;
  seed: number;
  mode: SelectionMode;
  /** The merger scoring candidates in 'merged' mode (the paper: average, Fisher, RegMean), and Top-k's pair merger. */
  merger: MergeParams;
  /** Most dev evaluations a run may spend, the starting ones included; 0 = no limit (generations bound it). */
  budget: number;
  /** Stop after this many generations (Top-k: rounds) without a better selection score; 0 = never. */
  patience: number;
  /** Select on a fixed, seeded, stratified subset of this many dev rows (0 = all); the result is re-scored on the whole dev split. */
  subset: number;
  /** Top-k kinship merging: how many models the top set keeps. */
  topK: number;
  /**
   * CMA-ES: how many values each searched coefficient takes over the network's depth (anchors of
   * mergekit's gradients: 1 = one value for every layer). Older recipes lack it: 1.
   */
  layerGroups: number;
  /**
   * Fraction of the dev split held apart from selection (seeded, stratified) to choose the final
   * model by (early stopping) and to chart beside the selection score; 0 = none. Older recipes lack it: 0.
   */
  validation: number;
  /** With a validation slice: which model is exported (FinalPick). Older recipes lack it: 'validation'. */
  pick: FinalPick;
}


/**
 * A merge method's id: one of the registry's (src/merge/methods, mergekit's names where it
 * has one) or one of its aliases ('average' for 'linear'). A plain string here, so adding a
 * method touches only its own file and the registry list.
 */
export type MergeMethod = string;

/**
 * The merger's settings as one flat object (stored in projects and recipes). Each method
 * declares which keys it reads (its `params` in src/merge/methods); the others are ignored.
 */
export interface MergeParams {
  method: MergeMethod;
  /** Task-vector scale λ (task arithmetic, TIES, DARE, breadcrumbs). */
  lambda: number;
  /** Fraction of each task vector kept (TIES by magnitude, DARE at random, breadcrumbs by band). */
  density: number;
  /** SLERP interpolation factor. */
  t: number;
  /** RegMean off-diagonal shrink α (1 = plain RegMean). */
  alpha: number;
  /** DARE drop-mask seed. */
  seed: number;
  /** Breadcrumbs: fraction of the largest-magnitude task-vector entries dropped (absent in older recipes). */
  gamma?: number;
  /** DELLA: spread of the magnitude-ranked keep probabilities around density. */
  epsilon?: number;
  /** SCE: fraction of the elements with the highest variance across models kept. */
  select_topk?: number;
  /** Karcher mean: most iterations, and the step size that ends them. */
  max_iter?: number;
  tol?: number;
  /** Multi-SLERP: the norm below which a vector counts as zero. */
  eps?: number;
  /** Per-model weights (linear, task arithmetic, TIES, DARE), one per fine-tuned model; default all 1. */
  weights?: number[];
  /**
   * Per-model weights that vary per tensor (mergekit's per-model `weight` gradient or filter
   * list), one rule per fine-tuned model; where given, they decide `weights` tensor by tensor.
   */
  weightRules?: ParamRule[];
  /** Per-tensor overrides (depth lists, name filters): see param-rules.ts. */
  rules?: Partial<Record<RuleParam, ParamRule>>;
}

/** Parameters that may vary per tensor. */
export type RuleParam = 'lambda' | 'density' | 't' | 'alpha';

/** The numeric keys of MergeParams a method may declare. */
export type MergeParamKey = 'lambda' | 'density' | 't' | 'alpha' | 'seed' | 'gamma' | 'epsilon' | 'select_topk' | 'max_iter' | 'tol' | 'eps';

/** Every numeric parameter's value when a recipe or the form does not give one (each method's own defaults are in its registry entry). */
export const DEFAULT_MERGE: MergeParams = { method: 'linear', lambda: 1, density: 1, t: 0.5, alpha: 0.9, seed: 0, gamma: 0.01, epsilon: 0.15, select_topk: 1, max_iter: 10, tol: 1e-5, eps: 1e-8 };

export type DepthValue = number | number[];

export type ParamRule = DepthValue | { filter?: string; value: DepthValue }[];

export const DEFAULT_SETTINGS: EvolverSettings = {
  strategy: 'evolver',
  mutation: 'interpolate',
  adaptive: false,
  f: 0.5,
  cr: 0.5,
  generations: 3,
  seed: 42,
  mode: 'merged',
  merger: DEFAULT_MERGE,
  budget: 0,
  patience: 0,
  subset: 0,
  topK: 3,
  layerGroups: 1,
  validation: 0,
  pick: 'validation',
};
