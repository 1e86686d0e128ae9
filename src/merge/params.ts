/**
 * What the registry's declarations say about one merge's settings: the rules' keys and
 * their parsing, why a method cannot run on a population, and the results' description.
 * Plain data in and out: recipes and stored projects pass through here.
 */
import { validateParamRule, validateWeightRules } from './param-rules';
import { findMethod, ruleParamKeys } from './registry';
import { optionValue, paramValue } from './method';
import { type MergeParams, type RuleParam } from '../protocol/settings';

export { paramsForTensor } from './param-rules';

/** The parameters that may vary per tensor, from the methods' declarations. */
export const RULE_PARAMS: readonly RuleParam[] = ruleParamKeys();

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

/** Why a method cannot run on this population, or null. */
export function methodProblem(params: MergeParams, modelCount: number, hasBase: boolean): string | null {
  const method = findMethod(params.method);
  if (!method) return `Unknown merge method "${String(params.method)}".`;
  try {
    // Rules may come from a recipe file: check them as untrusted input.
    if (params.rules) parseRules(JSON.stringify(params.rules));
  } catch (err) {
    return (err as Error).message;
  }
  const { label, needs } = method;
  if (needs.base && !hasBase) return `${label} needs a base (pre-trained) checkpoint: mark one as the base.`;
  if (params.weights !== undefined) {
    if (!method.weighted) return `${label} takes no per-model weights.`;
    if (params.weights.length !== modelCount) return `${params.weights.length} weights for ${modelCount} models (besides the base).`;
    if (!params.weights.every(Number.isFinite)) return 'Per-model weights must be finite numbers.';
  }
  if (params.weightRules !== undefined) {
    if (!method.weighted) return `${label} takes no per-model weights.`;
    try {
      if (validateWeightRules(params.weightRules).length !== modelCount) return `${params.weightRules.length} per-model weight rules for ${modelCount} models (besides the base).`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (needs.models !== undefined && modelCount !== needs.models) return `${label} merges exactly ${needs.models} models; ${modelCount} are loaded (besides the base).`;
  if (needs.minModels !== undefined && modelCount < needs.minModels) return `${label} needs at least ${needs.minModels} fine-tuned models.`;
  const stored = params as unknown as Record<string, unknown>;
  for (const o of method.options ?? []) {
    const v = stored[o.key];
    if (v === undefined) continue;
    if (o.type === 'boolean' && typeof v !== 'boolean') return `${label}: ${o.key} must be true or false, got ${JSON.stringify(v)}.`;
    if (o.type === 'choice' && !(typeof v === 'string' && o.choices.includes(v))) return `${label}: ${o.key} must be one of ${o.choices.join(', ')}, got ${JSON.stringify(v)}.`;
  }
  if (stored.densities !== undefined) {
    const list = stored.densities;
    const spec = method.params.find((p) => p.key === 'density');
    if (!method.perModelDensity || !spec) return `${label} takes no per-model densities.`;
    if (!Array.isArray(list) || list.length !== modelCount) return `${Array.isArray(list) ? list.length : 'no list of'} densities for ${modelCount} models (besides the base).`;
    if (!list.every((d) => typeof d === 'number' && d >= spec.min && d <= spec.max)) return `${label}: per-model densities must be numbers in [${spec.min}, ${spec.max}].`;
  }
  for (const p of method.params) {
    const v = paramValue(params, p);
    const whole = p.type !== 'number';
    if (!Number.isFinite(v) || v < p.min || v > p.max || (whole && !Number.isInteger(v))) {
      return `${label}: ${p.short ?? p.label} must be ${whole ? 'a whole number' : 'a number'} in [${p.min}, ${p.max}], got ${v}.`;
    }
  }
  return null;
}

/** The results' name of a merge: the method's label and the values of the parameters it reads. */
export function describeMerge(params: MergeParams): string {
  const ruled = Object.keys(params.rules ?? {});
  const weighted = params.weights ? ` weighted ${params.weights.join(':')}` : '';
  if (params.weightRules) ruled.push('weights');
  return ruled.length > 0 ? `${describeScalars(params)}${weighted} with per-tensor ${ruled.join(', ')}` : `${describeScalars(params)}${weighted}`;
}

function describeScalars(params: MergeParams): string {
  const method = findMethod(params.method);
  if (!method) return String(params.method);
  const densities = (params as unknown as Record<string, unknown>).densities;
  const values = method.params.map((p) => (p.key === 'density' && Array.isArray(densities) && method.perModelDensity ? `density ${densities.join(':')}` : `${p.short ?? p.label} ${paramValue(params, p)}`));
  // Switches and choices only where they differ from the method's default.
  for (const o of method.options ?? []) if (optionValue(params, o) !== o.default) values.push(`${o.key} ${String(optionValue(params, o))}`);
  return values.length > 0 ? `${method.label} (${values.join(', ')})` : method.label;
}
