/**
 * A mergekit config dropped into the studio: its method and parameters as the studio's
 * merge settings (MergeParams: scalars, top-level gradients and filters as per-tensor rules,
 * per-model weights and densities in population order), its base and models matched to the
 * loaded checkpoints by file or folder name. What the studio cannot carry (stacked slices,
 * per-model gradients, passthrough) is said in `notes`; models not loaded in `missing`.
 * Pure module.
 */
import { DEFAULT_MERGE, type MergeParams, type RuleParam } from '../protocol/settings';
import { withMethod } from './registry';
import { modelStem, type MergekitConfig } from './mergekit-config';
import { toParamRule, type MergekitParameters, type MergekitSetting } from './mergekit-settings';
import { MERGEKIT_DEFAULTS } from './mergekit-config-tensor';
import { PER_MODEL_PARAMS } from './mergekit-config';

export interface StudioMerge {
  params: MergeParams;
  /** The loaded checkpoint the config's base_model names, or null. */
  base: string | null;
  /** Config models with no loaded checkpoint of that name. */
  missing: string[];
  /** What the studio does not carry over, one sentence each. */
  notes: string[];
}

/** The loaded checkpoint a model reference names (by its file or folder name), or null. */
export function matchCheckpoint(ref: string, names: readonly string[]): string | null {
  const stem = modelStem(ref).toLowerCase();
  return names.find((n) => modelStem(n).toLowerCase() === stem || n.split('/')[0]!.toLowerCase() === stem) ?? null;
}

function scalar(setting: MergekitSetting | undefined): number | undefined {
  return typeof setting === 'number' ? setting : undefined;
}

/**
 * The studio's merge settings for a config. checkpoints: the loaded checkpoint names in
 * load order; the population is those besides the base (the config's, when it is loaded).
 */
export function studioMerge(config: MergekitConfig, checkpoints: readonly string[]): StudioMerge {
  const notes: string[] = [];
  if (config.method.kind === 'passthrough') {
    return { params: DEFAULT_MERGE, base: null, missing: [], notes: ['passthrough (layer stacking) changes the architecture: run it with `evolver-studio merge --config`; the studio merges models of one architecture.'] };
  }
  const method = config.method.method;
  if (config.slices.length > 1) notes.push(`${config.slices.length} stacked slices run with \`evolver-studio merge --config\` only; the studio merges whole models (the first slice's models are used).`);
  else if (!config.models) notes.push("the slice's layer_range is not applied: the studio merges whole models.");
  const sources = config.slices[0]!.sources;
  const missing: string[] = [];
  const matched = new Map<string, string>();
  for (const ref of new Set([...(config.base ? [config.base] : []), ...sources.map((s) => s.model)])) {
    const name = matchCheckpoint(ref, checkpoints);
    if (name) matched.set(ref, name);
    else missing.push(ref);
  }
  const base = config.base ? (matched.get(config.base) ?? null) : null;
  const population = checkpoints.filter((c) => c !== base);
  const byCheckpoint = new Map<string, MergekitParameters>();
  for (const s of sources) {
    const name = matched.get(s.model);
    if (name && name !== base) byCheckpoint.set(name, { ...s.parameters });
  }
  const extra = population.filter((c) => !byCheckpoint.has(c));
  const params = withMethod(DEFAULT_MERGE, method.id) as MergeParams & Record<string, unknown>;
  delete params.rules;
  const rules: NonNullable<MergeParams['rules']> = {};
  const top: MergekitParameters = { ...config.parameters, ...config.slices[0]!.parameters };
  const ruleOf = (key: string, setting: MergekitSetting, fallback: number, perTensor: boolean) => {
    const rule = toParamRule(setting, key);
    if (rule === null || !perTensor) {
      notes.push(`${key}: this value cannot vary per tensor in the studio; ${fallback} is used.`);
      return;
    }
    // mergekit falls back to the default where no filter matches; the project's rules need a default entry.
    const entries = Array.isArray(rule) && rule.length > 0 && typeof rule[0] === 'object' ? (rule as { filter?: string; value: number | number[] }[]) : null;
    rules[key as RuleParam] = entries && entries.every((e) => e.filter !== undefined) ? [...entries, { value: fallback }] : rule;
  };
  for (const spec of method.params) {
    const fallback = MERGEKIT_DEFAULTS[spec.key] ?? spec.default;
    params[spec.key] = fallback;
    const setting = top[spec.key];
    if ((PER_MODEL_PARAMS as readonly string[]).includes(spec.key) && population.some((c) => byCheckpoint.get(c)?.[spec.key] !== undefined)) {
      const settings = population.map((c) => byCheckpoint.get(c)?.[spec.key] ?? setting);
      if (settings.some((v) => v !== undefined && scalar(v) === undefined)) notes.push(`per-model ${spec.key} gradients or filters are not carried over (the studio's per-model values are scalars).`);
      const numbers = settings.map((v) => scalar(v) ?? fallback);
      params[spec.key] = numbers[0] ?? fallback;
      if (!numbers.every((v) => v === numbers[0])) {
        if (spec.key === 'density' && method.perModelDensity) params.densities = numbers;
        else notes.push(`per-model ${spec.key} values that differ are not carried over: ${method.label} takes one ${spec.key} (${numbers[0]} is used).`);
      }
    } else if (setting !== undefined) {
      const value = scalar(setting);
      if (value !== undefined) params[spec.key] = value;
      else ruleOf(spec.key, setting, fallback, spec.perTensor === true);
    }
  }
  for (const o of method.options ?? []) if (config.parameters[o.key] !== undefined) params[o.key] = config.parameters[o.key];
  if (method.weighted) {
    const weights = population.map((c) => scalar(byCheckpoint.get(c)?.weight ?? top.weight) ?? (byCheckpoint.has(c) ? 1 : 0));
    if (population.some((c) => byCheckpoint.get(c)?.weight !== undefined && scalar(byCheckpoint.get(c)!.weight) === undefined)) notes.push('per-model weight gradients or filters are not carried over: those models take weight 1.');
    if (weights.some((w) => w !== 1)) params.weights = weights;
  }
  if (extra.length > 0) notes.push(`${extra.join(', ')} ${extra.length > 1 ? 'are' : 'is'} loaded but not in the config${method.weighted ? ': weight 0' : ''}.`);
  if (Object.keys(rules).length > 0) params.rules = rules;
  if (config.base && !method.needs.base && !method.baseAsModel) notes.push(`${method.label} reads no base: base_model ${config.base} is not used.`);
  return { params, base, missing, notes };
}
