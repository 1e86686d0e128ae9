/**
 * What `evolve` and a queue worker share: the run's settings from the flags (over a recipe's),
 * and an engine with the run's files loaded, its task named and its base set. A worker opens the
 * coordinator's run through the same code, from the same flags and files, so both engines make
 * the same evaluations in the same order (cli/queue/).
 */
import { MergeEngine, settingsProblem } from '../../src/engine/engine';
import { parseRecipe, type Recipe } from '../../src/export/recipe';
import { DEFAULT_SETTINGS, type EvolverSettings, type FinalPick, type SelectionMode } from '../../src/protocol/settings';
import { readSafetensors } from '../../src/formats/safetensors-read';
import { detectFormat } from '../../src/formats/registry';
import type { NamedBytes } from '../../src/protocol/files';
import type { LoadReport } from '../../src/protocol/project';
import type { Parsed } from '../args';
import { choiceOption, numberOption, requireOption, stringOption, UsageError } from '../args';
import { InputError, readInput, readModelInput } from '../io';
import { mergeParamsFrom, methodFromFlag } from './merge';
import { methodFor } from '../../src/merge/registry';
import { applyRuntimeOptions } from '../runtime-options';
import { engineTaskOptions } from '../task-option';

export const STRATEGIES: Record<string, Pick<EvolverSettings, 'strategy' | 'mutation' | 'adaptive'>> = {
  evolver: { strategy: 'evolver', mutation: 'interpolate', adaptive: false },
  'de-rand-1': { strategy: 'evolver', mutation: 'rand1', adaptive: false },
  'de-best-1': { strategy: 'evolver', mutation: 'best1', adaptive: false },
  jde: { strategy: 'evolver', mutation: 'rand1', adaptive: true },
  'kinship-topk': { strategy: 'kinship_topk', mutation: 'interpolate', adaptive: false },
  'cma-es': { strategy: 'cma_es', mutation: 'interpolate', adaptive: false },
};

/** The flags that name files (besides the models): a worker finds them under its data root. */
export const EVOLVE_PATH_OPTIONS = ['dev', 'tokenizer', 'heldout', 'base', 'graph', 'labels', 'recipe'] as const;

function readRecipe(file: string): Recipe {
  const input = readInput(file);
  let json: unknown;
  try {
    json = detectFormat(input.name, input.bytes.subarray(0, 65536)) === 'safetensors' ? JSON.parse(readSafetensors(input.bytes, input.name).metadata.recipe ?? 'null') : JSON.parse(new TextDecoder().decode(input.bytes));
  } catch (err) {
    throw new InputError(`${input.name}: not a recipe (${(err as Error).message}).`);
  }
  try {
    return parseRecipe(json, input.name);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

export interface OpenedRun {
  engine: MergeEngine;
  settings: EvolverSettings;
  /** The model arguments as the files read for each. */
  models: NamedBytes[][];
  baseName: string | null;
  loaded: LoadReport;
  /** Every file the engine was given, in order (what a queue's workers must hold too). */
  inputs: NamedBytes[];
}

/** The run's settings: a recipe's (--recipe), then the flags. */
export function evolveSettings(values: Parsed['values']): { settings: EvolverSettings; recipe: Recipe } {
  const recipePath = stringOption(values, 'recipe');
  const recipe: Recipe = recipePath ? readRecipe(recipePath) : { settings: { ...DEFAULT_SETTINGS }, base: null, sources: [] };
  let settings = recipe.settings;
  const strategy = stringOption(values, 'strategy');
  if (strategy !== undefined) {
    if (!STRATEGIES[strategy]) throw new UsageError(`--strategy must be one of ${Object.keys(STRATEGIES).join(', ')}; got "${strategy}".`, 'evolve');
    settings = { ...settings, ...STRATEGIES[strategy] };
  }
  const mergerName = stringOption(values, 'merger');
  const merger = mergerName !== undefined ? methodFromFlag(mergerName, 'merger', 'evolve') : methodFor(settings.merger.method);
  settings = {
    ...settings,
    merger: mergeParamsFrom(values, merger, settings.merger, false),
    mode: choiceOption<SelectionMode>(values, 'mode', ['merged', 'individual'], settings.mode),
    f: numberOption(values, 'f', settings.f, { min: 0, max: 2 }),
    cr: numberOption(values, 'cr', settings.cr, { min: 0, max: 1 }),
    generations: numberOption(values, 'generations', settings.generations, { min: 0, integer: true }),
    seed: numberOption(values, 'seed', settings.seed, { min: 0, max: 0xffffffff, integer: true }),
    budget: numberOption(values, 'budget', settings.budget, { min: 0, integer: true }),
    patience: numberOption(values, 'patience', settings.patience, { min: 0, integer: true }),
    subset: numberOption(values, 'subset', settings.subset, { min: 0, integer: true }),
    topK: numberOption(values, 'top-k', settings.topK, { min: 1, integer: true }),
    layerGroups: numberOption(values, 'layer-groups', settings.layerGroups ?? 1, { min: 1, max: 64, integer: true }),
    validation: numberOption(values, 'validation', settings.validation ?? 0, { min: 0, max: 0.95 }),
    pick: choiceOption<FinalPick>(values, 'pick', ['validation', 'search'], settings.pick ?? 'validation'),
  };
  const problem = settingsProblem(settings);
  if (problem) throw new UsageError(problem, 'evolve');
  return { settings, recipe };

}

/** Reads the run's files and loads them into a new engine on the WASM path. */
export async function openEvolveRun({ values, positionals }: Parsed): Promise<OpenedRun> {
  const { settings, recipe } = evolveSettings(values);
  if (positionals.length < 2) throw new UsageError(`give at least 2 models (got ${positionals.length}).`, 'evolve');
  const models = positionals.map(readModelInput);
  const baseFile = stringOption(values, 'base');
  const base = baseFile ? readModelInput(baseFile) : [];
  const graphFile = stringOption(values, 'graph');
  const graph = graphFile ? [readInput(graphFile)] : [];
  const data = [requireOption(values, 'dev'), stringOption(values, 'tokenizer'), stringOption(values, 'heldout')].filter((f): f is string => f !== undefined).map(readInput);
  applyRuntimeOptions(values, { gpuEvaluation: true, command: 'evolve' });
  const engine = new MergeEngine();
  await engine.init('wasm');
  engine.configureEvaluation({ batchRows: numberOption(values, 'batch', 128, { min: 1, max: 65536, integer: true }) });
  const labelFile = await engineTaskOptions(engine, values, 'evolve');
  const inputs = [...graph, ...models.flat(), ...base, ...data, ...labelFile];
  const loaded = await engine.addFiles(inputs);
  if (loaded.problems.length > 0) throw new InputError(loaded.problems.map((p) => p.message).join('\n'));
  // A folder or sharded base is known by its files: the checkpoint that holds its first one.
  const baseName = base.length > 0 ? (loaded.checkpoints.find((c) => c.files.includes(base[0]!.name))?.name ?? null) : null;
  if (recipe.base && recipe.base !== baseName) process.stderr.write(`note: the recipe's base was ${recipe.base}; this run's base is ${baseName ?? 'none'}.\n`);
  await engine.setBase(baseName);

  return { engine, settings, models, baseName, loaded, inputs };
}
