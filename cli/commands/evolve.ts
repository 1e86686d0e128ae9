/**
 * `evolve --dev DEV.jsonl ... --out OUT.safetensors MODEL...`: the studio's search
 * (the Evolver and its DE variants, Top-k kinship merging, or CMA-ES over the merge recipe)
 * on the WASM path, printing the per-generation table (with the validation score when
 * --validation holds a slice of dev apart) and the final dev and held-out scores, and writing
 * the result with its recipe beside it (CMA-ES: and the mergekit YAML of the recipe found).
 * A recipe (the studio's or this command's) re-runs the same search: same files and seed
 * give the same accepted offspring and the same bytes.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { JournalEntry } from '../../src/protocol/results';
import type { EvolverSettings } from '../../src/protocol/settings';
import { mergekitYaml } from '../../src/merge/mergekit-config-write';
import { readSafetensors } from '../../src/formats/safetensors-read';
import type { CommandSpec, Parsed } from '../args';
import { choiceOption, requireOption, stringOption } from '../args';
import { formatTable, InputError, Progress, writeOutput } from '../io';
import { mergerHelp, mergerOptions, methodChoicesHelp } from './merge';
import { scoreRows } from './scores';
import { runtimeHelp, runtimeOptions } from '../runtime-options';
import { taskHelp, taskOptions } from '../task-option';
import { readJournalEntry } from '../../src/search/journal';
import { formatMetric, taskPrimaryMetric } from '../../src/eval/tasks/metric-format';
import { openEvolveRun, STRATEGIES } from './evolve-run';
import { openQueueRoute, queueEvolveHelp, queueEvolveOptions } from '../queue/evolve-queue';

export const evolveSpec: CommandSpec = {
  name: 'evolve',
  summary: 'Evolves checkpoints with the studio engine (WASM path) and writes the result and its recipe.',
  usage: 'evolve --dev DEV.jsonl [--tokenizer tokenizer.json] [--heldout H.jsonl] [--graph G.onnx] [--task ID] [--labels FILE] [--strategy S] [--merger M] [--generations G] [--seed S] [--recipe R.json] --out OUT.safetensors MODEL...',
  help: [
    '  --dev FILE              dev rows for selection (required)',
    '  --tokenizer FILE        tokenizer.json for text rows',
    '  --heldout FILE          held-out rows, reported only (default: 25% of dev held out by a seeded split)',
    '  --base FILE             the base checkpoint (task-vector mergers, kinship)',
    '  --graph G.onnx          the ONNX graph safetensors MODELs run on (one export of the architecture)',
    `  --strategy S            ${Object.keys(STRATEGIES).join(', ')} (default evolver: the paper's mutation)`,
    `  --merger M              ${methodChoicesHelp()} (default linear)`,
    '  --mode merged|individual  select on the merged population (default) or each model alone',
    '  --f F, --cr CR          mutation scale and crossover rate (default 0.5, 0.5)',
    '  --generations G         generations (Top-k: rounds; default 3)',
    '  --seed S                one seed reproduces the run (default 42)',
    '  --budget N              most dev evaluations, the starting ones included (0 = none)',
    '  --patience K            stop after K generations without a better score (0 = never)',
    '  --subset N              select on a seeded N-row subset of dev (0 = all)',
    '  --top-k K               Top-k merging: models kept (default 3)',
    "  --layer-groups K        CMA-ES: values per coefficient over depth (mergekit's gradient anchors; default 1)",
    '  --validation F          hold a seeded, stratified fraction F of dev apart from selection: charted per',
    '                          generation, and the final model is the best on it of the start and the candidates',
    '  --pick validation|search  with --validation: export the best on validation (default) or the search\'s result',
    ...mergerHelp(false),
    '  --weights W1,W2,...     per-model weights, as for merge',
    '  --recipe FILE           a recipe .json (or a .safetensors the studio exported): its settings, then the flags above',
    '  --out FILE              the result .safetensors (required); the recipe goes to FILE with .recipe.json',
    '  --journal FILE          store every selection score in FILE (JSON lines) as the run goes; run again with the',
    '                          same FILE, files and settings to resume where an interrupted run stopped',
    "  --device cpu|gpu        gpu: score on onnxruntime-node's CUDA execution provider, where installed (docs/gpu.md; default cpu)",
    '  --batch N               rows per model run (default 128)',
    ...runtimeHelp,
    ...queueEvolveHelp,
    ...taskHelp,
    '  --json                  machine-readable output',
  ].join('\n'),
  options: {
    dev: { type: 'string' },
    tokenizer: { type: 'string' },
    heldout: { type: 'string' },
    base: { type: 'string' },
    graph: { type: 'string' },
    strategy: { type: 'string' },
    merger: { type: 'string' },
    mode: { type: 'string' },
    f: { type: 'string' },
    cr: { type: 'string' },
    generations: { type: 'string' },
    seed: { type: 'string' },
    budget: { type: 'string' },
    patience: { type: 'string' },
    subset: { type: 'string' },
    'top-k': { type: 'string' },
    'layer-groups': { type: 'string' },
    validation: { type: 'string' },
    pick: { type: 'string' },
    ...mergerOptions(false),
    weights: { type: 'string' },
    recipe: { type: 'string' },
    journal: { type: 'string' },
    out: { type: 'string' },
    device: { type: 'string' },
    batch: { type: 'string' },
    ...runtimeOptions,
    ...queueEvolveOptions,
    ...taskOptions,
    json: { type: 'boolean' },
  },
};

/** The journal's first line: which run its scores belong to. */
interface JournalHeader {
  journal: 1;
  settings: EvolverSettings;
  models: string[];
  base: string | null;
}

/**
 * The scores an earlier run stored with --journal (a missing or empty file is a fresh
 * start, and gets its header). A journal of another run (settings or files) is refused.
 */
function openJournal(file: string, header: JournalHeader): JournalEntry[] {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (text.trim() === '') {
    writeOutput(file, `${JSON.stringify(header)}\n`);
    return [];
  }
  const lines = text.split('\n');
  // A run killed while writing leaves a partial last line: the evaluation in flight. Drop it
  // from the file too, so this run's entries start on a line of their own.
  if (lines.at(-1) !== '') {
    lines.pop();
    writeOutput(file, `${lines.join('\n')}\n`);
  }
  let stored: JournalHeader;
  try {
    stored = JSON.parse(lines[0]!) as JournalHeader;
  } catch {
    throw new InputError(`${file}: not a journal (its first line is not JSON).`);
  }
  if (stored.journal !== 1) throw new InputError(`${file}: not an evolver-studio journal.`);
  if (JSON.stringify(stored.settings) !== JSON.stringify(header.settings) || stored.models.join() !== header.models.join() || stored.base !== header.base) {
    throw new InputError(`${file}: the journal belongs to another run (its settings or models differ from these); give another --journal file to start afresh.`);
  }
  return lines.slice(1).filter((l) => l.trim() !== '').map((line, i) => {
    try {
      const entry = readJournalEntry(JSON.parse(line));
      if (!entry) throw new Error('not a journal entry');
      return entry;
    } catch (err) {
      throw new InputError(`${file}: line ${i + 2} is not a journal entry (${(err as Error).message}).`);
    }
  });
}

export async function evolve({ values, positionals }: Parsed): Promise<number> {
  const out = requireOption(values, 'out');
  // gpu: onnxruntime-node's CUDA execution provider scores (applyRuntimeOptions says when it is not installed).
  choiceOption(values, 'device', ['cpu', 'gpu'], 'cpu');
  const opened = await openEvolveRun({ values, positionals });
  const { engine, settings, models, baseName, loaded } = opened;
  const journalPath = stringOption(values, 'journal');
  const journal = journalPath ? openJournal(journalPath, { journal: 1, settings, models: models.map((files) => files.map((f) => f.name).join('+')), base: baseName }) : [];
  const progress = new Progress(values.json === true);
  const queue = values.queue !== undefined ? await openQueueRoute(evolveSpec, { values, positionals }, opened, journal, (text) => process.stderr.write(`note: ${text}\n`)) : null;
  if (queue) engine.configureEvaluation({ route: queue });
  const perGeneration = models.length;
  const primary = taskPrimaryMetric(loaded.dataset?.task);
  let done = 0;
  const run = engine.run(settings, (e) => {
    if (e.type === 'journal' && journalPath) appendFileSync(journalPath, `${JSON.stringify(e.entry)}\n`);
    if (e.type === 'phase') progress.update(e.text);
    if (e.type === 'offspring') {
      done++;
      const total = settings.strategy === 'evolver' ? settings.generations * perGeneration : e.perGeneration > 0 && settings.strategy === 'cma_es' ? settings.generations * e.perGeneration : 0;
      progress.update(`${settings.strategy === 'kinship_topk' ? 'round' : 'generation'} ${e.generation}/${settings.generations} · ${done} evaluated · dev ${primary.label} ${formatMetric(primary, e.score, 2)}`, total > 0 ? done / total : undefined);
    }
  }, journal);
  const result = await run.finally(() => queue?.close());
  progress.done();
  if (queue) process.stderr.write(`queue: ${queue.evaluations} evaluations, ${queue.jobs} jobs on ${queue.jobsByWorker.size} worker${queue.jobsByWorker.size === 1 ? '' : 's'} (${[...queue.jobsByWorker.values()].join(', ')})\n`);
  const exported = await engine.exportSafetensors();
  writeOutput(out, exported.bytes);
  const recipeOut = out.replace(/(\.safetensors)?$/, '.recipe.json');
  const recipeJson = readSafetensors(exported.bytes, out).metadata.recipe!;
  writeOutput(recipeOut, `${JSON.stringify(JSON.parse(recipeJson), null, 2)}\n`);
  // CMA-ES found a recipe: a plain merge of the sources, which mergekit runs as it is.
  const yamlOut = result.recipe ? out.replace(/(\.safetensors)?$/, '.mergekit.yml') : null;
  if (yamlOut && result.recipe) writeOutput(yamlOut, mergekitYaml({ params: result.recipe, models: result.individuals.map((m) => m.name), base: baseName }).text);

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ output: out, recipe: recipeOut, ...(yamlOut ? { mergekitConfig: yamlOut } : {}), ...result, foundRecipe: result.recipe ?? null }, null, 2)}\n`);
    return 0;
  }
  const pct = (v: number) => formatMetric(primary, v, 2, false);
  const unit = settings.strategy === 'kinship_topk' ? 'round' : 'generation';
  const validated = result.history.some((h) => h.validation !== undefined);
  // The history holds the primary metric: "best %" for a percentage, "best" for a plain number.
  const head = (name: string) => (primary.format === 'percent' ? `${name} %` : name);
  process.stdout.write(
    `${formatTable([
      [unit, head('best'), head('mean'), head(settings.strategy === 'kinship_topk' ? 'best merge' : settings.strategy === 'cma_es' ? 'best recipe' : 'merged'), ...(validated ? [head('validation')] : []), 'accepted', 'evaluations', 'kinship'],
      ...result.history.map((h) => [h.generation, pct(h.best), pct(h.mean), pct(h.merged), ...(validated ? [h.validation === undefined ? '–' : pct(h.validation)] : []), h.accepted, h.evaluations, h.kinship ? h.kinship.population.toFixed(4) : '–']),
    ])}\n\n`,
  );
  process.stdout.write(`${formatTable(scoreRows([...result.individuals, ...(result.strategy !== 'kinship_topk' ? [result.initialMerge] : []), result.final]))}\n\n`);
  if (result.validation) {
    const v = result.validation;
    process.stdout.write(
      `validation (${v.rows} of ${v.rows + v.selectionRows} dev rows, kept from selection): start ${pct(v.start)}, search's result ${pct(v.searchResult)}, exported ${pct(v.exported)}\n${v.message}\n\n`,
    );
  }
  if (result.recipe) process.stdout.write(`recipe found: ${result.final.name}\n`);
  process.stdout.write(`${result.stopReason} after ${result.counters.evaluations} dev evaluations (${result.counters.accepted}/${result.counters.offspring} accepted); wrote ${out}, ${recipeOut}${yamlOut ? ` and ${yamlOut}` : ''}\n`);
  return 0;
}

