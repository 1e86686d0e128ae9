/**
 * Merge methods the studio offers, with mergekit's vocabulary, and what each needs.
 * Plain data: crosses the worker boundary and is stored in recipes.
 */
export type MergeMethod = 'average' | 'task_arithmetic' | 'ties' | 'dare_linear' | 'dare_ties' | 'slerp' | 'model_stock' | 'regmean';

export interface MergeParams {
  method: MergeMethod;
  /** Task-vector scale λ (task arithmetic, TIES, DARE). */
  lambda: number;
  /** Fraction of each task vector kept (TIES by magnitude, DARE at random). */
  density: number;
  /** SLERP interpolation factor. */
  t: number;
  /** RegMean off-diagonal shrink α (1 = plain RegMean). */
  alpha: number;
  /** DARE drop-mask seed. */
  seed: number;
}

export const DEFAULT_MERGE: MergeParams = { method: 'average', lambda: 1, density: 0.5, t: 0.5, alpha: 0.9, seed: 0 };

export interface MethodInfo {
  label: string;
  /** Needs a checkpoint marked as the base (pre-trained) model. */
  needsBase: boolean;
  /** Exact number of fine-tuned models, when fixed. */
  models?: number;
  /** Needs dev data (activations) besides the weights. */
  needsData: boolean;
}

export const METHOD_INFO: Record<MergeMethod, MethodInfo> = {
  average: { label: 'simple average', needsBase: false, needsData: false },
  task_arithmetic: { label: 'task arithmetic', needsBase: true, needsData: false },
  ties: { label: 'TIES', needsBase: true, needsData: false },
  dare_linear: { label: 'DARE (linear)', needsBase: true, needsData: false },
  dare_ties: { label: 'DARE (TIES)', needsBase: true, needsData: false },
  slerp: { label: 'SLERP', needsBase: false, models: 2, needsData: false },
  model_stock: { label: 'model stock', needsBase: true, needsData: false },
  regmean: { label: 'RegMean', needsBase: false, needsData: true },
};

/** Why a method cannot run on this population, or null. */
export function methodProblem(params: MergeParams, modelCount: number, hasBase: boolean): string | null {
  const info = METHOD_INFO[params.method];
  if (info.needsBase && !hasBase) return `${info.label} needs a base (pre-trained) checkpoint: mark one as the base.`;
  if (info.models !== undefined && modelCount !== info.models) return `${info.label} merges exactly ${info.models} models; ${modelCount} are loaded (besides the base).`;
  if (params.method === 'model_stock' && modelCount < 2) return 'model stock needs at least two fine-tuned models.';
  return null;
}

export function describeMerge(params: MergeParams): string {
  const info = METHOD_INFO[params.method];
  switch (params.method) {
    case 'task_arithmetic':
      return `${info.label} (λ ${params.lambda})`;
    case 'ties':
      return `${info.label} (density ${params.density}, λ ${params.lambda})`;
    case 'dare_linear':
    case 'dare_ties':
      return `${info.label} (density ${params.density}, λ ${params.lambda}, seed ${params.seed})`;
    case 'slerp':
      return `${info.label} (t ${params.t})`;
    case 'regmean':
      return `${info.label} (α ${params.alpha})`;
    default:
      return info.label;
  }
}
