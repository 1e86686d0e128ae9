/**
 * Pause and resume at engine level on the sample checkpoints (WASM path): a paused run
 * scores nothing while paused and ends exactly as the same run unpaused; Stop ends a
 * paused run.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type EvolverSettings } from '../protocol/settings';
import { type ProgressEvent } from '../protocol/events';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE } from '../protocol/settings';
import { hasSamples, sampleFiles } from '../testing/samples';

const SETTINGS: EvolverSettings = { ...DEFAULT_SETTINGS, generations: 2, seed: 11, mode: 'merged', merger: DEFAULT_MERGE };

async function loadedEngine(): Promise<MergeEngine> {
  const engine = new MergeEngine();
  await engine.init('wasm');
  await engine.addFiles(sampleFiles());
  return engine;
}

describe.skipIf(!hasSamples)('pausing a run (WASM path, sample checkpoints)', () => {
  it('holds every score while paused and ends exactly as the unpaused run', async () => {
    const plain = await loadedEngine();
    const unpaused = await plain.run(SETTINGS, () => {});
    const unpausedBytes = (await plain.exportSafetensors()).bytes;

    const engine = await loadedEngine();
    const events: ProgressEvent[] = [];
    let scoredWhilePaused = 0;
    let paused = false;
    let holds = 0;
    const result = await engine.run(SETTINGS, (event) => {
      events.push(event);
      if (paused && (event.type === 'offspring' || event.type === 'journal' || event.type === 'generation')) scoredWhilePaused++;
      // Pause after the second offspring of generation 1, hold 300 ms, resume.
      if (event.type === 'offspring' && event.generation === 1 && event.index === 2) void engine.pause();
      if (event.type === 'phase' && event.text === 'Paused') {
        paused = true;
        holds++;
        setTimeout(() => {
          paused = false;
          void engine.resume();
        }, 300);
      }
    });

    expect(holds).toBe(1);
    expect(scoredWhilePaused).toBe(0);
    // After the hold, the run reports its search phase again.
    const phases = events.filter((e) => e.type === 'phase').map((e) => e.text);
    expect(phases[phases.indexOf('Paused') + 1]).toBe('Evolving');
    expect(result.history).toEqual(unpaused.history);
    expect(result.final).toEqual(unpaused.final);
    expect(result.counters.evaluations).toBe(unpaused.counters.evaluations);
    expect(result.counters.accepted).toBe(unpaused.counters.accepted);
    expect(result.stopReason).toBe('completed');
    expect(Buffer.from((await engine.exportSafetensors()).bytes).equals(Buffer.from(unpausedBytes))).toBe(true);
  });

  it('Stop ends a paused run', async () => {
    const engine = await loadedEngine();
    let offspring = 0;
    const result = await engine.run({ ...SETTINGS, generations: 1 }, (event) => {
      if (event.type === 'offspring') {
        offspring++;
        if (offspring === 1) void engine.pause();
      }
      if (event.type === 'phase' && event.text === 'Paused') void engine.stop();
    });
    expect(result.stopReason).toBe('user');
    // The score held at the gate still runs once released; the next stop check ends the run.
    expect(result.counters.offspring).toBe(2);
  });
});
