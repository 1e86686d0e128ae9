/**
 * Every merge method on the real sample checkpoints (WASM path): one-shot merges
 * through the engine, each scored on dev and held-out, and the Evolver with the
 * RegMean merger for one generation. Prints the table the issue note quotes.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../protocol/settings';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE, type MergeMethod } from '../protocol/settings';
import { readSafetensors } from '../formats/safetensors-read';
import { hasSamples, sampleFiles } from '../testing/samples';

async function sampleEngine(withBase: boolean): Promise<MergeEngine> {
  const engine = new MergeEngine();
  await engine.init('wasm');
  const report = await engine.addFiles(sampleFiles({ withBase }));
  expect(report.problems).toEqual([]);
  return engine;
}

describe.skipIf(!hasSamples)('merge methods on the sample checkpoints', () => {
  it('the manifest marks base.onnx as the base; it is not part of the population', async () => {
    const engine = await sampleEngine(true);
    const snapshot = await engine.setBase('base.onnx');
    expect(snapshot.checkpoints.filter((c) => c.isBase).map((c) => c.name)).toEqual(['base.onnx']);
    await expect(engine.setBase('nope.onnx')).rejects.toThrow(/nope\.onnx/);
  });

  it('base-model methods refuse to run without a base, naming what is missing', async () => {
    const engine = await sampleEngine(false);
    await expect(engine.merge({ ...DEFAULT_MERGE, method: 'ties' }, () => {})).rejects.toThrow(/TIES needs a base/);
    await expect(engine.merge({ ...DEFAULT_MERGE, method: 'slerp' }, () => {})).rejects.toThrow(/exactly 2 models; 3 are loaded/);
  });

  it('every method merges the samples and scores well above chance', async () => {
    const engine = await sampleEngine(true);
    const rows: string[] = ['| method | dev acc | dev macro-F1 | held-out acc | held-out macro-F1 |', '|---|---|---|---|---|'];
    const methods: MergeMethod[] = ['average', 'task_arithmetic', 'ties', 'dare_linear', 'dare_ties', 'model_stock', 'regmean', 'fisher'];
    let individualsLogged = false;
    for (const method of methods) {
      const result = await engine.merge({ ...DEFAULT_MERGE, method, lambda: method === 'task_arithmetic' ? 0.5 : 1, seed: 1 }, () => {});
      if (!individualsLogged) {
        for (const m of result.individuals) rows.push(`| ${m.name} | ${m.dev.metrics.accuracy.toFixed(4)} | ${m.dev.metrics.macroF1.toFixed(4)} | ${m.heldout!.metrics.accuracy.toFixed(4)} | ${m.heldout!.metrics.macroF1.toFixed(4)} |`);
        individualsLogged = true;
      }
      const f = result.final;
      rows.push(`| ${result.mergerLabel} | ${f.dev.metrics.accuracy.toFixed(4)} | ${f.dev.metrics.macroF1.toFixed(4)} | ${f.heldout!.metrics.accuracy.toFixed(4)} | ${f.heldout!.metrics.macroF1.toFixed(4)} |`);
      expect(result.strategy).toBe('merge');
      expect(f.dev.metrics.accuracy).toBeGreaterThan(0.8);
      const exported = await engine.exportSafetensors();
      expect(exported.fileName).toBe(`merged-${method}.safetensors`);
      expect(JSON.parse(readSafetensors(exported.bytes, exported.fileName).metadata.recipe)).toMatchObject({ strategy: 'merge', base: 'base.onnx' });
    }
    console.log(rows.join('\n'));
  }, 300_000);

  it('SLERP merges two experts', async () => {
    const engine = await sampleEngine(false);
    await engine.removeCheckpoint('expert-c.onnx');
    const result = await engine.merge({ ...DEFAULT_MERGE, method: 'slerp', t: 0.5 }, () => {});
    console.log(`| SLERP(A, B, t 0.5) | ${result.final.dev.metrics.accuracy.toFixed(4)} | ${result.final.heldout!.metrics.accuracy.toFixed(4)} |`);
    expect(result.final.dev.metrics.accuracy).toBeGreaterThan(0.8);
  });

  it.each(['regmean', 'fisher'] as const)('Evolver + %s runs one generation and never ends below its starting merge', async (method) => {
    const engine = await sampleEngine(true);
    const result = await engine.run({ ...DEFAULT_SETTINGS, f: 0.5, cr: 0.5, generations: 1, seed: 3, mode: 'merged', merger: { ...DEFAULT_MERGE, method, alpha: 0.9 } }, () => {});
    expect(result.counters.offspring).toBe(3);
    expect(result.final.dev.metrics.accuracy).toBeGreaterThanOrEqual(result.initialMerge.dev.metrics.accuracy);
    console.log(`Evolver+${result.mergerLabel} G=1: initial ${result.initialMerge.dev.metrics.accuracy.toFixed(4)} → ${result.final.dev.metrics.accuracy.toFixed(4)} dev, held-out ${result.final.heldout!.metrics.accuracy.toFixed(4)}`);
  }, 300_000);
});
