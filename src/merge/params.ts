/**
 * Merge methods the studio offers, with mergekit's vocabulary, and what each needs.
 * Plain data: crosses the worker boundary and is stored in recipes.
 */
import { resolveParam, validateParamRule } from './param-rules';
import { type MergeMethod, type MergeParams, type RuleParam } from '../protocol/settings';

export const RULE_PARAMS: readonly RuleParam[] = ['lambda', 'density', 't', 'alpha'];

/** Parses the recipe editor's rules JSON ({"density": [0.2, 0.8], ...}); throws ParamRuleError naming the problem. */
export function parseRules(text: string): MergeParams['rules'] {
  if (text.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('Rules are not valid JSON.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('Rules must be a JSON object such as {"density": [0.2, 0.8]}.');
  const rules: NonNullable<MergeParams['rules']> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!(RULE_PARAMS as readonly string[]).includes(key)) throw new Error(`Unknown rule parameter "${key}" (allowed: ${RULE_PARAMS.join(', ')}).`);
    rules[key as RuleParam] = validateParamRule(value, key);
  }
  return rules;
}

/** The scalar parameters for one tensor, its rules applied. */
export function paramsForTensor(params: MergeParams, name: string, depth: number): MergeParams {
  if (!params.rules) return params;
  const out = { ...params };
  for (const key of RULE_PARAMS) {
    const rule = params.rules[key];
    if (rule !== undefined) out[key] = resolveParam(rule, name, depth);
  }
  return out;
}

/** Methods that take per-model weights (mergekit's `weight`). */
export const WEIGHTED_METHODS: ReadonlySet<MergeMethod> = new Set(['average', 'task_arithmetic', 'ties', 'dare_linear', 'dare_ties']);

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
  // Exact empirical Fisher exists only for the classifier head (see eval/fisher.ts): named so.
  fisher: { label: 'Fisher (head only; other tensors averaged)', needsBase: false, needsData: true },
};

/** Why a method cannot run on this population, or null. */
export function methodProblem(params: MergeParams, modelCount: number, hasBase: boolean): string | null {
  const info = METHOD_INFO[params.method];
  if (!info) return `Unknown merge method "${String(params.method)}".`;
  try {
    // Rules may come from a recipe file: check them as untrusted input.
    if (params.rules) parseRules(JSON.stringify(params.rules));
  } catch (err) {
    return (err as Error).message;
  }
  if (info.needsBase && !hasBase) return `${info.label} needs a base (pre-trained) checkpoint: mark one as the base.`;
  if (params.weights !== undefined) {
    if (!WEIGHTED_METHODS.has(params.method)) return `${info.label} takes no per-model weights.`;
    if (params.weights.length !== modelCount) return `${params.weights.length} weights for ${modelCount} models (besides the base).`;
    if (!params.weights.every(Number.isFinite)) return 'Per-model weights must be finite numbers.';
  }
  if (info.models !== undefined && modelCount !== info.models) return `${info.label} merges exactly ${info.models} models; ${modelCount} are loaded (besides the base).`;
  if (params.method === 'model_stock' && modelCount < 2) return 'model stock needs at least two fine-tuned models.';
  return null;
}

export function describeMerge(params: MergeParams): string {
  const ruled = Object.keys(params.rules ?? {});
  const weighted = params.weights ? ` weighted ${params.weights.join(':')}` : '';
  return ruled.length > 0 ? `${describeScalars(params)}${weighted} with per-tensor ${ruled.join(', ')}` : `${describeScalars(params)}${weighted}`;
}

function describeScalars(params: MergeParams): string {
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
