/**
 * CMA-ES over merge recipes and the validation rule, end to end in Node on the sample
 * checkpoints (WASM path): elitism on the selection split, one seed's determinism, the
 * exported weights equal to a one-shot merge of the recipe found, layer groups as depth
 * lists, the validation slice charted and deciding the export, and a resumed run ending as
 * an uninterrupted one.
 */
import { describe, expect, it } from 'vitest';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE, DEFAULT_SETTINGS, type EvolverSettings } from '../protocol/settings';
import type { JournalEntry, RunResult } from '../protocol/results';
import { readSafetensors } from '../formats/safetensors-read';
import { hasSamples, sampleFiles } from '../testing/samples';

async function engineWith(withBase: boolean): Promise<MergeEngine> {
  const engine = new MergeEngine();
  await engine.init('wasm');
  await engine.addFiles(sampleFiles({ withBase }));
  if (withBase) await engine.setBase('base.onnx');
  return engine;
}

const tensorsOf = async (engine: MergeEngine) => {
  const file = await engine.exportSafetensors();
  return readSafetensors(file.bytes, file.fileName).tensors.map((t) => [t.name, Array.from(t.data)]);
};

/** Small enough to take seconds: 3 checkpoints + the start + 6 candidates. */
const CMA: EvolverSettings = { ...DEFAULT_SETTINGS, strategy: 'cma_es', generations: 2, budget: 10, seed: 5 };
/** The machine these run on is shared: give each case room. */
const SLOW = 400_000;

describe.skipIf(!hasSamples)('CMA-ES over merge recipes on the sample', () => {
  it('never ends below its starting recipe on selection, is one function of its seed, and exports the merge of the recipe it found', async () => {
    const engine = await engineWith(false);
    const journal: JournalEntry[] = [];
    const run = await engine.run(CMA, (e) => e.type === 'journal' && journal.push(e.entry));
    expect(run.strategy).toBe('cma_es');
    expect(run.counters.evaluations).toBeLessThanOrEqual(10);
    expect(run.history[0]!.generation).toBe(0);
    expect(run.history.length).toBeGreaterThanOrEqual(2);
    // Elitist: the result is never below the start on the selection rows (the subset here).
    const selection = run.history.map((h) => h.merged);
    for (let i = 1; i < selection.length; i++) expect(selection[i]!).toBeGreaterThanOrEqual(selection[i - 1]!);
    expect(run.validation ?? null).toBeNull();
    // This seed's first generation finds a better weighting than equal weights.
    expect(run.counters.accepted).toBeGreaterThan(0);
    expect(run.recipe!.method).toBe('linear');
    expect(run.recipe!.weights).toHaveLength(3);
    expect(run.final.name).toContain('CMA-ES recipe: simple average weighted');
    const exported = await tensorsOf(engine);
    const metadata = readSafetensors((await engine.exportSafetensors()).bytes, 'x').metadata;
    expect(JSON.parse(metadata.recipe!)).toMatchObject({ strategy: 'cma_es', layerGroups: 1 });

    const again = await engine.run(CMA, () => {});
    expect(again.recipe).toEqual(run.recipe);
    expect(again.history).toEqual(run.history);

    // The found recipe, merged once from the checkpoints, is the exported model to the byte.
    await engine.merge(run.recipe!, () => {});
    expect(await tensorsOf(engine)).toEqual(exported);

    // Resumed from the first half of its journal, it ends where the uninterrupted run ended.
    const resumed = await engine.run(CMA, () => {}, journal.slice(0, 6));
    expect(resumed.recipe).toEqual(run.recipe);
    expect(resumed.counters.replayedEvaluations).toBe(6);
    expect(await tensorsOf(engine)).toEqual(exported);
  }, SLOW);

  it('searches TIES weight and density per layer group as depth lists', async () => {
    const engine = await engineWith(true);
    // A poor start (λ 0.1: near the base) that this seed's first candidates beat.
    const run = await engine.run({ ...CMA, seed: 3, merger: { ...DEFAULT_MERGE, method: 'ties', density: 0.5, lambda: 0.1 }, layerGroups: 2, budget: 7 }, () => {});
    expect(run.counters.accepted).toBeGreaterThan(0);
    expect(run.recipe!.weightRules).toHaveLength(3);
    for (const rule of run.recipe!.weightRules!) expect(rule).toHaveLength(2);
    expect(run.recipe!.rules!.density).toHaveLength(2);
    expect(run.recipe!.rules!.lambda).toHaveLength(2);
  }, SLOW);
});

describe.skipIf(!hasSamples)('the validation rule on the sample', () => {
  const checkValidation = (run: RunResult) => {
    const v = run.validation!;
    expect(v.rows).toBeGreaterThan(0);
    expect(v.rows + v.selectionRows).toBe(run.final.dev.size);
    expect(run.history.every((h) => typeof h.validation === 'number')).toBe(true);
    expect(run.final.validation!.size).toBe(v.rows);
    // The exported model is never below the start on validation, and the report says whether the search's result was.
    if (v.choice !== 'search-result' || run.settings.pick === 'validation') expect(v.exported).toBeGreaterThanOrEqual(v.start);
    expect(v.resultBelowStart).toBe(v.searchResult < v.start || (v.searchResult === v.start && v.resultBelowStart));
    expect(v.message.length).toBeGreaterThan(10);
    return v;
  };

  it('CMA-ES selects on the rest of dev and exports the best on validation of its accepted recipes', async () => {
    const engine = await engineWith(false);
    const run = await engine.run({ ...CMA, validation: 0.3, subset: 150 }, () => {});
    const v = checkValidation(run);
    expect(v.fraction).toBe(0.3);
    expect(Math.abs(v.rows - 0.3 * run.final.dev.size)).toBeLessThanOrEqual(1);
    expect(run.counters.validationEvaluations).toBeGreaterThanOrEqual(1);
    if (v.choice === 'start') expect(run.final.dev).toEqual(run.initialMerge.dev);
  }, SLOW);

  it('the Evolver exports its starting merge when its result is no better on validation, or its result as asked', async () => {
    const engine = await engineWith(false);
    const settings: EvolverSettings = { ...DEFAULT_SETTINGS, generations: 1, seed: 3, validation: 0.3 };
    const run = await engine.run(settings, () => {});
    const v = checkValidation(run);
    if (v.choice === 'start') {
      expect(run.final.dev).toEqual(run.initialMerge.dev);
      expect(run.final.name).toBe(run.mergerLabel);
    }
    const asked = await engine.run({ ...settings, pick: 'search' }, () => {});
    expect(asked.validation!.choice).toBe('search-result');
    expect(asked.validation!.searchResult).toBe(v.searchResult);
  }, SLOW);
});
