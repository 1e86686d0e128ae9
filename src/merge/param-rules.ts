/**
 * Per-tensor merge parameters, as mergekit allows: a parameter may be
 * - a scalar: the same everywhere;
 * - a list: anchors spread evenly over the network's depth, linearly interpolated
 *   (e.g. density [0.2, 0.8] keeps less of early layers, more of late ones);
 * - a list of {filter, value} entries: the first entry whose filter is a substring of
 *   the tensor name wins; an entry without a filter is the default. Values may
 *   themselves be scalars or depth lists.
 * Depth of a tensor: see tensor-position.ts. Pure logic.
 */
import { type DepthValue, type MergeParams, type ParamRule, type RuleParam } from '../protocol/settings';


export class ParamRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamRuleError';
  }
}

function interpolate(anchors: number[], depth: number): number {
  if (anchors.length === 1) return anchors[0];
  const x = Math.min(1, Math.max(0, depth)) * (anchors.length - 1);
  const i = Math.min(anchors.length - 2, Math.floor(x));
  const f = x - i;
  return anchors[i] * (1 - f) + anchors[i + 1] * f;
}

function depthValue(value: DepthValue, depth: number): number {
  return typeof value === 'number' ? value : interpolate(value, depth);
}

/** The value of a rule for one tensor. */
export function resolveParam(rule: ParamRule, name: string, depth: number): number {
  if (typeof rule === 'number' || (Array.isArray(rule) && rule.every((v) => typeof v === 'number'))) {
    return depthValue(rule as DepthValue, depth);
  }
  for (const entry of rule as { filter?: string; value: DepthValue }[]) {
    if (entry.filter === undefined || name.includes(entry.filter)) return depthValue(entry.value, depth);
  }
  throw new ParamRuleError(`No rule entry matches tensor "${name}" and there is no default entry (one without "filter").`);
}

function isDepthValue(v: unknown): v is DepthValue {
  return (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));
}

/** Checks an untrusted rule (from the recipe editor or a recipe file). */
export function validateParamRule(rule: unknown, param: string): ParamRule {
  if (isDepthValue(rule)) return rule;
  if (Array.isArray(rule) && rule.length > 0) {
    for (const [i, entry] of rule.entries()) {
      const e = entry as { filter?: unknown; value?: unknown };
      if (typeof e !== 'object' || e === null) throw new ParamRuleError(`${param}: entry ${i + 1} is not an object {filter, value}.`);
      if (e.filter !== undefined && typeof e.filter !== 'string') throw new ParamRuleError(`${param}: entry ${i + 1} has a filter that is not a string.`);
      if (!isDepthValue(e.value)) throw new ParamRuleError(`${param}: entry ${i + 1} needs "value": a number or a list of numbers.`);
    }
    return rule as ParamRule;
  }
  throw new ParamRuleError(`${param}: expected a number, a list of numbers, or a list of {"filter", "value"} entries.`);
}

/**
 * The scalar parameters for one tensor, its rules applied (rules are checked where they enter:
 * parseRules), and per-model weight rules (weightRules) resolved into that tensor's `weights`.
 */
export function paramsForTensor(params: MergeParams, name: string, depth: number): MergeParams {
  if (!params.rules && !params.weightRules) return params;
  const out = { ...params };
  for (const [key, rule] of Object.entries(params.rules ?? {}) as [RuleParam, ParamRule | undefined][]) {
    if (rule !== undefined) out[key] = resolveParam(rule, name, depth);
  }
  if (params.weightRules) {
    out.weights = params.weightRules.map((rule) => resolveParam(rule, name, depth));
    delete out.weightRules;
  }
  return out;
}

/** Checks untrusted per-model weight rules (a recipe file): one rule per model, each as validateParamRule takes. */
export function validateWeightRules(rules: unknown): ParamRule[] {
  if (!Array.isArray(rules) || rules.length === 0) throw new ParamRuleError('weightRules: expected a list with one rule per model.');
  return rules.map((rule, i) => validateParamRule(rule, `weightRules[${i}]`));
}
