/**
 * Recipes: the settings that re-run a search, as the studio and the CLI write them
 * (the `recipe` entry of an exported safetensors' metadata, or a .recipe.json beside it):
 * the search settings plus the base and source checkpoint names. A recipe is untrusted
 * input, so every field is checked. Pure module.
 */
import { FileError } from '../formats/errors';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { parseRules } from '../merge/params';
import { validateWeightRules } from '../merge/param-rules';
import { allParamSpecs, findMethod } from '../merge/registry';
import { DEFAULT_SETTINGS, type EvolverSettings } from '../protocol/settings';
import { mergekitYaml } from '../merge/mergekit-config-write';
import type { SafetensorsWriteDtype } from '../protocol/files';

export interface Recipe {
  settings: EvolverSettings;
  base: string | null;
  sources: string[];
}

export class RecipeError extends FileError {
  override name = 'RecipeError';
}

/** A file that looks like a recipe (so the studio routes it to the recipe loader, not the data loader). */
export function looksLikeRecipe(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'merger' in json && 'strategy' in json && 'seed' in json;
}

export function parseRecipe(json: unknown, fileName: string): Recipe {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RecipeError(fileName, 'a recipe is a JSON object.');
  const r = json as Record<string, unknown>;
  if (r.strategy === 'merge') throw new RecipeError(fileName, 'this recipe is a one-shot merge (strategy "merge"), not a search.');
  const settings: EvolverSettings = { ...DEFAULT_SETTINGS };
  const pick = <K extends keyof EvolverSettings>(key: K, ok: (v: unknown) => boolean) => {
    if (r[key] === undefined) return;
    if (!ok(r[key])) throw new RecipeError(fileName, `"${key}" has an invalid value ${JSON.stringify(r[key])}.`);
    settings[key] = r[key] as EvolverSettings[K];
  };
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  pick('strategy', (v) => v === 'evolver' || v === 'kinship_topk' || v === 'cma_es');
  pick('pick', (v) => v === 'validation' || v === 'search');
  pick('mutation', (v) => v === 'interpolate' || v === 'rand1' || v === 'best1');
  pick('adaptive', (v) => typeof v === 'boolean');
  pick('mode', (v) => v === 'merged' || v === 'individual');
  for (const key of ['f', 'cr', 'generations', 'seed', 'budget', 'patience', 'subset', 'topK'] as const) pick(key, isNumber);
  pick('layerGroups', (v) => Number.isInteger(v) && (v as number) >= 1);
  pick('validation', (v) => isNumber(v) && (v as number) >= 0 && (v as number) < 1);
  pick('merger', (v) => typeof v === 'object' && v !== null && !Array.isArray(v));
  const merger = { ...DEFAULT_MERGE, ...(settings.merger as Partial<MergeParams>) } as MergeParams;
  // Every parameter some method declares must be a number (older recipes lack newer keys: defaults fill them).
  for (const { key } of allParamSpecs()) {
    const value = (merger as unknown as Record<string, unknown>)[key];
    if (!isNumber(value)) throw new RecipeError(fileName, `merger "${key}" has an invalid value ${JSON.stringify(value)}.`);
  }
  // Model count and base are checked when the recipe runs; here, what the recipe alone can get wrong.
  const method = findMethod(merger.method);
  if (!method) throw new RecipeError(fileName, `unknown merge method ${JSON.stringify(merger.method)}.`);
  // Aliases ('average') are stored under the method's id from here on.
  merger.method = method.id;
  if (merger.weights !== undefined && !(Array.isArray(merger.weights) && merger.weights.every((w) => isNumber(w)))) {
    throw new RecipeError(fileName, 'merger "weights" must be a list of numbers.');
  }
  try {
    if (merger.rules !== undefined) merger.rules = parseRules(JSON.stringify(merger.rules));
    if (merger.weightRules !== undefined) merger.weightRules = validateWeightRules(merger.weightRules);
  } catch (err) {
    throw new RecipeError(fileName, (err as Error).message);
  }
  settings.merger = merger;
  const sources = Array.isArray(r.sources) && r.sources.every((s) => typeof s === 'string') ? (r.sources as string[]) : [];
  return { settings, base: typeof r.base === 'string' ? r.base : null, sources };
}

export interface RecipeYaml {
  fileName: string;
  text: string;
  /** What the YAML does not carry (also written as comments at its top). */
  problems: string[];
}

/**
 * An exported recipe (the studio's .recipe.json: settings, strategy, base, sources) as a
 * mergekit YAML config, where mergekit can express it: a one-shot merge is its merger over
 * the sources; an Evolver or Top-k run's result is not (its evolved weights or chosen subset
 * live in the exported safetensors), which `problems` says.
 */
export function recipeMergekitYaml(json: unknown, fileName: string, dtype: SafetensorsWriteDtype | null = null): RecipeYaml {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RecipeError(fileName, 'a recipe is a JSON object.');
  const r = json as Record<string, unknown>;
  const merger = { ...DEFAULT_MERGE, ...(typeof r.merger === 'object' && r.merger !== null ? (r.merger as Partial<MergeParams>) : {}) } as MergeParams;
  const sources = Array.isArray(r.sources) ? r.sources.filter((s): s is string => typeof s === 'string') : [];
  const base = typeof r.base === 'string' ? r.base : null;
  const early: string[] = [];
  if (r.strategy === 'evolver') {
    early.push(
      r.mode === 'individual'
        ? "an Evolver run in 'individual' mode returns its best evolved checkpoint, not a merge: this config only merges the original sources with the run's merger."
        : "an Evolver run merges evolved versions of the checkpoints (their weights are in the exported safetensors, not in any file mergekit reads): this config merges the original sources with the run's merger only.",
    );
  } else if (r.strategy === 'kinship_topk') {
    early.push("Top-k kinship merging picks and merges the models greedily: this config merges all the sources with the run's merger in one step.");
  }
  // CMA-ES: the recipe it found (resultMerger) is a plain merge of the sources, which mergekit runs as it is.
  const found = typeof r.resultMerger === 'object' && r.resultMerger !== null ? ({ ...DEFAULT_MERGE, ...(r.resultMerger as Partial<MergeParams>) } as MergeParams) : null;
  if (r.strategy === 'cma_es' && !found) early.push("this file lacks the recipe CMA-ES found (resultMerger): this config merges the sources with the run's starting merger.");
  const out = mergekitYaml({ params: found ?? merger, models: sources, base, dtype });
  const problems = [...early, ...out.problems];
  const header = early.length > 0 ? `${early.map((p) => `# Not carried over to mergekit: ${p}`).join('\n')}\n` : '';
  return { fileName: fileName.replace(/\.recipe\.json$/i, '').replace(/\.json$/i, '') + '.mergekit.yml', text: `${header}${out.text}`, problems };
}
