/**
 * The space CMA-ES searches: a merge method's coefficients per layer group, as mergekit-evolve
 * searches them. Per group: a `weight` per model (methods that take weights) and, where the
 * method declares them, `density`, `lambda` and `t`. Bounds come from the method's ParamSpec,
 * narrowed to a search range where the declared one is open-ended (λ in [−100, 100] is searched
 * in [0, 2]); every coordinate is scaled to [0, 1] so one step size fits all.
 *
 * Layer groups are anchors of mergekit's gradients (param-rules.ts): with K groups each
 * coefficient is a K-value depth list, interpolated over depth; K = 1 is one value for the
 * whole network, written as plain scalars and weights. A decoded recipe is a MergeParams that
 * any merge (studio, CLI, mergekit YAML) re-runs. Values are rounded to 4 decimals, so the
 * recipe holds exactly what was merged. Pure module.
 */
import { findMethod } from '../merge/registry';
import { paramValue, type ParamSpec } from '../merge/method';
import type { MergeParams, RuleParam } from '../protocol/settings';

/** Searched range of a per-model weight (weight 1, the method's default, in the middle). */
const WEIGHT_RANGE = [0, 2] as const;
/** Searched ranges where a declared range is wider than a useful search (λ). */
const SEARCH_RANGE: Partial<Record<string, readonly [number, number]>> = { lambda: [0, 2] };
/** The coefficients searched besides the weights, where a method declares them. */
const SEARCHED: readonly RuleParam[] = ['density', 'lambda', 't'];
const DECIMALS = 1e4;

export interface RecipeCoordinate {
  /** 'weight' (of `model`) or the parameter's key. */
  key: 'weight' | RuleParam;
  model: number | null;
  group: number;
  lower: number;
  upper: number;
}

export interface RecipeSpace {
  coordinates: RecipeCoordinate[];
  /** The starting recipe's point in [0, 1]^n. */
  start: number[];
  /** A point of [0, 1]^n as the recipe it stands for. */
  decode(unit: readonly number[]): MergeParams;
}

export class RecipeSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecipeSpaceError';
  }
}

const round = (v: number) => Math.round(v * DECIMALS) / DECIMALS;

function rangeOf(spec: ParamSpec, start: number): [number, number] {
  const wanted = SEARCH_RANGE[spec.key] ?? [spec.min, spec.max];
  // Inside the declared range, and wide enough to hold the starting value.
  return [Math.max(spec.min, Math.min(wanted[0], start)), Math.min(spec.max, Math.max(wanted[1], start))];
}

/** The starting value of a coefficient in group g of K (a depth list of K anchors is read as given, else its value). */
function startValue(rule: unknown, scalar: number, g: number, groups: number): number {
  if (Array.isArray(rule) && rule.length === groups && rule.every((v) => typeof v === 'number')) return rule[g] as number;
  return typeof rule === 'number' ? rule : scalar;
}

export function recipeSpace(start: MergeParams, modelCount: number, layerGroups: number): RecipeSpace {
  const method = findMethod(start.method);
  if (!method) throw new RecipeSpaceError(`Unknown merge method "${start.method}".`);
  if (!Number.isInteger(layerGroups) || layerGroups < 1) throw new RecipeSpaceError(`layer groups must be a whole number ≥ 1, got ${layerGroups}.`);
  const coordinates: RecipeCoordinate[] = [];
  const startPoint: number[] = [];
  const add = (c: RecipeCoordinate, value: number) => {
    coordinates.push(c);
    startPoint.push(c.upper > c.lower ? Math.min(1, Math.max(0, (value - c.lower) / (c.upper - c.lower))) : 0);
  };
  for (let g = 0; g < layerGroups; g++) {
    if (method.weighted) {
      for (let m = 0; m < modelCount; m++) {
        const value = startValue(start.weightRules?.[m], start.weights?.[m] ?? 1, g, layerGroups);
        add({ key: 'weight', model: m, group: g, lower: Math.min(WEIGHT_RANGE[0], value), upper: Math.max(WEIGHT_RANGE[1], value) }, value);
      }
    }
    for (const spec of method.params) {
      if (!(SEARCHED as readonly string[]).includes(spec.key)) continue;
      const key = spec.key as RuleParam;
      const value = startValue(start.rules?.[key], paramValue(start, spec), g, layerGroups);
      const [lower, upper] = rangeOf(spec, value);
      add({ key, model: null, group: g, lower, upper }, value);
    }
  }
  if (coordinates.length === 0) {
    throw new RecipeSpaceError(`${method.label} has no weights, density, λ or t to search: choose a method that has (linear, task arithmetic, TIES, DARE, SLERP, ...).`);
  }

  const decode = (unit: readonly number[]): MergeParams => {
    if (unit.length !== coordinates.length) throw new RecipeSpaceError(`a recipe point needs ${coordinates.length} coordinates, got ${unit.length}.`);
    const values = coordinates.map((c, i) => round(c.lower + Math.min(1, Math.max(0, unit[i]!)) * (c.upper - c.lower)));
    const perGroup = (pick: (c: RecipeCoordinate) => boolean) => coordinates.flatMap((c, i) => (pick(c) ? [values[i]!] : []));
    const out: MergeParams = { ...start, rules: { ...(start.rules ?? {}) } };
    delete (out as unknown as Record<string, unknown>).densities;
    delete out.weightRules;
    delete out.weights;
    if (method.weighted) {
      const lists = Array.from({ length: modelCount }, (_, m) => perGroup((c) => c.key === 'weight' && c.model === m));
      if (layerGroups === 1) out.weights = lists.map((l) => l[0]!);
      else out.weightRules = lists;
    }
    for (const key of SEARCHED) {
      const list = perGroup((c) => c.key === key);
      if (list.length === 0) continue;
      if (layerGroups === 1) {
        out[key] = list[0]!;
        delete out.rules![key];
      } else {
        out.rules![key] = list;
      }
    }
    if (Object.keys(out.rules!).length === 0) delete out.rules;
    return out;
  };
  return { coordinates, start: startPoint, decode };
}
