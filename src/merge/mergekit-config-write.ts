/**
 * The other direction: this project's merge settings (MergeParams, as recipes store them)
 * written as a mergekit YAML config, where mergekit can express them. Per-tensor rules are
 * mergekit's gradients and {filter, value} lists; per-model weights and densities go on
 * each model. What mergekit cannot say (a data-aware method, DARE's seed, an Evolver run's
 * evolved weights) is listed in `problems`. Pure module.
 */
import { Document, isScalar, visit } from 'yaml';
import { findMethod } from './registry';
import { optionValue, paramValue } from './method';
import { fromParamRule, type MergekitParameters, type MergekitSetting } from './mergekit-settings';
import { dtypeName } from './mergekit-config';
import type { MergeParams, RuleParam } from '../protocol/settings';
import type { SafetensorsWriteDtype } from '../protocol/files';

export interface MergekitYamlInput {
  params: MergeParams;
  /** The merged models in the merge's order (the base excluded). */
  models: readonly string[];
  base: string | null;
  dtype?: SafetensorsWriteDtype | null;
}

export interface MergekitYaml {
  text: string;
  /** What the YAML does not carry (empty: it re-runs the same merge in mergekit). */
  problems: string[];
}

/** mergekit's name for a model: a path as given, a checkpoint file's folder-less stem kept as is. */
function ref(name: string): string {
  return name.replace(/\/model(-\d+-of-\d+)?\.safetensors$/i, '').replace(/\/model\.safetensors\.index\.json$/i, '');
}

/** The settings as a mergekit config; problems name what it cannot carry. */
export function mergekitYaml({ params, models, base, dtype = null }: MergekitYamlInput): MergekitYaml {
  const problems: string[] = [];
  const method = findMethod(params.method);
  if (!method) return { text: '', problems: [`unknown merge method "${params.method}".`] };
  if (method.needs.devData || method.prepare) problems.push(`${method.label} is not a mergekit method (it needs dev data); the config names it, mergekit will not run it.`);
  const stored = params as unknown as Record<string, unknown>;
  const top: MergekitParameters = {};
  const rules = params.rules ?? {};
  for (const spec of method.params) {
    if (spec.key === 'seed') {
      problems.push(`mergekit draws DARE's drop masks from its own random generator: seed ${paramValue(params, spec)} is not carried over, so the masks differ.`);
      continue;
    }
    const rule = rules[spec.key as RuleParam];
    top[spec.key] = rule !== undefined ? fromParamRule(rule) : paramValue(params, spec);
  }
  for (const o of method.options ?? []) {
    const v = optionValue(params, o);
    if (v !== o.default) top[o.key] = v;
  }
  const densities = Array.isArray(stored.densities) && stored.densities.length === models.length ? (stored.densities as number[]) : null;
  if (densities) delete top.density;
  const weights = params.weights && params.weights.length === models.length ? params.weights : null;
  // SLERP and linear take a given base as one of their models (mergekit's base_model).
  const placement = method.baseAsModel ?? (method.id === 'slerp' ? 'first' : undefined);
  let merged = models.map(ref);
  let baseRef = base ? ref(base) : null;
  if (method.id === 'slerp' && !baseRef && merged.length === 2) {
    baseRef = merged[0]!;
  }
  if (base && !method.needs.base && placement === undefined) problems.push(`${method.label} reads no base: base_model ${baseRef} is left out.`);
  const entries = merged.map((model, i) => {
    const p: Record<string, MergekitSetting> = {};
    const weightRule = params.weightRules?.length === models.length ? params.weightRules[i] : undefined;
    if (method.weighted) p.weight = weightRule !== undefined ? fromParamRule(weightRule) : weights ? weights[i]! : 1;
    if (densities) p.density = densities[i]!;
    return Object.keys(p).length > 0 ? { model, parameters: p } : { model };
  });
  if (placement === 'last' && baseRef && !merged.includes(baseRef)) entries.push({ model: baseRef, ...(method.weighted ? { parameters: { weight: 1 } } : {}) });
  if (placement === 'first' && baseRef && !merged.includes(baseRef)) entries.unshift({ model: baseRef });
  merged = entries.map((e) => e.model);
  const doc: Record<string, unknown> = { models: entries, merge_method: method.id };
  if (baseRef && (method.needs.base || placement === 'first')) doc.base_model = baseRef;
  if (Object.keys(top).length > 0) doc.parameters = top;
  if (dtype) doc.dtype = dtypeName(dtype);
  const header = problems.length > 0 ? `# Not carried over to mergekit:\n${problems.map((p) => `# - ${p}`).join('\n')}\n` : '';
  // Lists of numbers (gradients) in flow style, as mergekit writes its configs.
  const yaml = new Document(doc);
  visit(yaml, { Seq: (_, node) => void (node.flow = node.items.every((i) => isScalar(i) && typeof i.value === 'number')) });
  return { text: `${header}${yaml.toString({ flowCollectionPadding: false })}`, problems };
}
