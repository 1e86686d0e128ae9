/**
 * The merge-method registry: looks methods up by id or alias and derives what several
 * front ends share from the declarations (which parameters exist, which vary per tensor,
 * switching a recipe from one method to another). The list itself is methods/index.ts.
 */
import { MERGE_METHODS } from './methods';
import type { MergeMethodDef, ParamSpec, PrepareContext } from './method';
import type { ParameterLayout } from './layout';
import type { MergeParamKey, MergeParams, RuleParam } from '../protocol/settings';

export { MERGE_METHODS };

const byName = new Map<string, MergeMethodDef>();
for (const method of MERGE_METHODS) {
  for (const name of [method.id, ...method.aliases]) {
    // A name taken twice would make recipes ambiguous: fail when the registry loads.
    if (byName.has(name)) throw new Error(`merge/registry.ts: the method name "${name}" is registered twice.`);
    byName.set(name, method);
  }
}

/** The method with this id or alias, or undefined. */
export function findMethod(name: string): MergeMethodDef | undefined {
  return typeof name === 'string' ? byName.get(name) : undefined;
}

/** The method with this id or alias; throws naming the known ones. */
export function methodFor(name: string): MergeMethodDef {
  const method = findMethod(name);
  if (!method) throw new Error(`Unknown merge method "${String(name)}" (known: ${MERGE_METHODS.map((m) => m.id).join(', ')}).`);
  return method;
}

/** Every accepted method name: ids, then aliases. */
export function methodNames(): string[] {
  return [...MERGE_METHODS.map((m) => m.id), ...MERGE_METHODS.flatMap((m) => m.aliases)];
}

/** Each parameter key any method declares, with its first declaration (recipe checks, CLI flags). */
export function allParamSpecs(): ParamSpec[] {
  const seen = new Map<MergeParamKey, ParamSpec>();
  for (const m of MERGE_METHODS) for (const p of m.params) if (!seen.has(p.key)) seen.set(p.key, p);
  return [...seen.values()];
}

/** The parameters some method lets vary per tensor (the rules' keys). */
export function ruleParamKeys(): RuleParam[] {
  const keys = new Set<string>();
  for (const m of MERGE_METHODS) for (const p of m.params) if (p.perTensor) keys.add(p.key);
  return [...keys] as RuleParam[];
}

/**
 * params switched to another method: values the new method shares with the old one stay
 * (a density tuned for TIES carries over to DARE); those the old method did not read take
 * the new method's defaults.
 */
export function withMethod(params: MergeParams, name: string): MergeParams {
  const next = methodFor(name);
  const previous = findMethod(params.method);
  const kept = new Set(previous?.params.map((p) => p.key) ?? []);
  const out: MergeParams = { ...params, method: name };
  for (const p of next.params) if (!kept.has(p.key)) (out as unknown as Record<string, number>)[p.key] = p.default;
  return out;
}

/** The method's data-aware inputs for a run (null for methods without prepare). */
export async function prepareInputs(params: MergeParams, ctx: PrepareContext): Promise<unknown> {
  const method = methodFor(params.method);
  return method.prepare ? method.prepare(ctx) : null;
}

/**
 * What the method's GPU merger takes for this run, or null when the run stays on the CPU
 * (no GPU merger, or its gpuInputs refused these inputs).
 */
export function gpuPlan(params: MergeParams, inputs: unknown, layout: ParameterLayout): { inputs: unknown } | null {
  const method = methodFor(params.method);
  if (!method.gpu) return null;
  if (!method.gpuInputs) return { inputs: null };
  const gpuInputs = method.gpuInputs(inputs, layout, params);
  return gpuInputs === null ? null : { inputs: gpuInputs };
}
