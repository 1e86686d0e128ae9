/**
 * Resuming from the score journal on the real sample: a run cut short and resumed from its
 * stored scores ends bit for bit where an uninterrupted run ends, re-evaluating nothing it
 * had scored; a journal of another kind of run is refused.
 */
import { describe, expect, it } from 'vitest';
import { MergeEngine } from '../engine/engine';
import { DEFAULT_MERGE } from '../protocol/settings';
import { JournalMismatchError, ScoreJournal, readJournalEntry } from './journal';
import { fit } from '../testing/fitness';
import { type JournalEntry } from '../protocol/results';
import { DEFAULT_SETTINGS, type EvolverSettings } from '../protocol/settings';
import { type ProgressEvent } from '../protocol/events';
import { hasSamples, sampleFiles } from '../testing/samples';

async function engineWithSample(): Promise<MergeEngine> {
  const engine = new MergeEngine();
  await engine.init('wasm');
  await engine.addFiles(sampleFiles({ withBase: true }));
  return engine;
}

async function runRecording(engine: MergeEngine, settings: EvolverSettings, journal: JournalEntry[] = []) {
  const recorded: JournalEntry[] = [...journal];
  const result = await engine.run(settings, (e: ProgressEvent) => {
    if (e.type === 'journal') {
      expect(e.index).toBe(recorded.length);
      recorded.push(e.entry);
    }
  }, journal);
  return { result, recorded, bytes: (await engine.exportSafetensors()).bytes };
}

describe('ScoreJournal', () => {
  it('replays recorded scores, then evaluates and records', async () => {
    const recorded: JournalEntry[] = [];
    const journal = new ScoreJournal([{ set: 0, fitness: fit(0.5, 0.4) }], (entry) => recorded.push(entry));
    let evaluated = 0;
    const evaluate = async () => fit(0.9, 0.8 + evaluated++);
    expect(await journal.score(0, evaluate)).toEqual(fit(0.5, 0.4));
    expect(journal.replaying).toBe(false);
    expect(await journal.score('merged', evaluate)).toEqual(fit(0.9, 0.8));
    expect(evaluated).toBe(1);
    expect(recorded).toEqual([{ set: 'merged', fitness: fit(0.9, 0.8) }]);
    await expect(new ScoreJournal([{ set: 'candidate', fitness: fit(1, 1) }], () => {}).score('merged', evaluate)).rejects.toThrow(JournalMismatchError);
  });

  it('replays entries stored before tasks existed ({accuracy, macroF1}) as classification fitness', async () => {
    const old = [{ set: 0, fitness: { accuracy: 0.5, macroF1: 0.4 } }, { set: 'merged', fitness: { accuracy: 0.6, macroF1: null } }] as unknown as JournalEntry[];
    const journal = new ScoreJournal(old, () => {});
    const evaluate = async () => fit(0, 0);
    expect(await journal.score(0, evaluate)).toEqual(fit(0.5, 0.4));
    expect(await journal.score('merged', evaluate)).toEqual(fit(0.6, NaN));
    expect(readJournalEntry({ set: 'candidate', fitness: { accuracy: 1, macroF1: 0.5 } })).toEqual({ set: 'candidate', fitness: fit(1, 0.5) });
    expect(readJournalEntry({ set: 'candidate', fitness: fit(1, 0.5) })).toEqual({ set: 'candidate', fitness: fit(1, 0.5) });
    expect(readJournalEntry({ set: 'other', fitness: fit(1, 0.5) })).toBeNull();
    expect(readJournalEntry({ set: 0, fitness: { score: 1 } })).toBeNull();
    await expect(new ScoreJournal([{ set: 0, fitness: {} }] as unknown as JournalEntry[], () => {}).score(0, evaluate)).rejects.toThrow(JournalMismatchError);
  });
});

describe.skipIf(!hasSamples)('resuming a run from its journal (sample, WASM path)', () => {
  it.each([
    // Selection on a 120-row dev subset keeps the test quick (the journal holds the subset's scores).
    ['the Evolver with TIES, with merger', { ...DEFAULT_SETTINGS, generations: 2, seed: 21, subset: 120, merger: { ...DEFAULT_MERGE, method: 'ties' as const } }],
    ['jDE without merger', { ...DEFAULT_SETTINGS, generations: 2, seed: 22, subset: 120, mode: 'individual' as const, mutation: 'rand1' as const, adaptive: true }],
    ['Top-k kinship merging', { ...DEFAULT_SETTINGS, strategy: 'kinship_topk' as const, generations: 2, topK: 2, subset: 120, merger: { ...DEFAULT_MERGE, method: 'slerp' as const } }],
  ])('%s: cut short and resumed, it ends bit for bit as an uninterrupted run', async (_, settings) => {
    const whole = await runRecording(await engineWithSample(), settings);
    const cut = Math.floor(whole.recorded.length / 2) + 1;
    const resumed = await runRecording(await engineWithSample(), settings, whole.recorded.slice(0, cut));
    expect(resumed.result.counters.replayedEvaluations).toBe(cut);
    expect(resumed.recorded).toEqual(whole.recorded);
    expect(resumed.result.history).toEqual(whole.result.history);
    expect(Buffer.from(resumed.bytes).equals(Buffer.from(whole.bytes))).toBe(true);
  });

  it('resumes from a journal stored before tasks existed ({accuracy, macroF1} fitness)', async () => {
    const settings = { ...DEFAULT_SETTINGS, generations: 1, seed: 23, subset: 60 };
    const whole = await runRecording(await engineWithSample(), settings);
    const cut = Math.floor(whole.recorded.length / 2) + 1;
    const old = whole.recorded.slice(0, cut).map((e) => ({ set: e.set, fitness: { accuracy: e.fitness.values[0], macroF1: e.fitness.values[1] } })) as unknown as JournalEntry[];
    const resumed = await runRecording(await engineWithSample(), settings, old);
    expect(resumed.result.counters.replayedEvaluations).toBe(cut);
    expect(resumed.result.history).toEqual(whole.result.history);
    expect(Buffer.from(resumed.bytes).equals(Buffer.from(whole.bytes))).toBe(true);
  });

  it('refuses a journal of another kind of run', async () => {
    const evolver = await runRecording(await engineWithSample(), { ...DEFAULT_SETTINGS, generations: 1, subset: 60, mode: 'individual' });
    const engine = await engineWithSample();
    await expect(engine.run({ ...DEFAULT_SETTINGS, generations: 1, subset: 60, mode: 'merged' }, () => {}, evolver.recorded)).rejects.toThrow(/does not match/);
  });
});
