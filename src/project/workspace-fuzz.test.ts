/**
 * The workspace under fuzzed drops: a user with the sample loaded drops damaged copies of
 * its files. Each drop either loads or is reported by file name; nothing already loaded
 * is lost; no drop throws or hangs.
 */
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { mutate } from '../testing/fuzz';
import { hasSamples, sampleBytes, sampleFiles } from '../testing/samples';
import { Workspace } from './workspace';

describe.skipIf(!hasSamples)('Workspace.addFiles under fuzzed files', () => {
  it.each([
    ['expert-a.onnx', 'mutant.onnx', 150],
    ['dev.jsonl', 'dev.jsonl', 200],
    ['heldout.jsonl', 'heldout.jsonl', 100],
    ['manifest.json', 'manifest.json', 150],
    ['tokenizer.json', 'tokenizer.json', 25],
  ])('%s → %s: %i drops', (source, dropName, iterations) => {
    const ws = new Workspace();
    expect(ws.addFiles(sampleFiles()).problems).toEqual([]);
    const before = () => ({ checkpoints: ws.checkpoints.map((c) => c.name), dev: ws.devFile?.fileName, heldout: ws.heldoutFile?.fileName, splits: ws.snapshot().dataset?.devSize });
    const seed = source.endsWith('.jsonl') ? sampleBytes(source).subarray(0, 60_000) : sampleBytes(source);
    const rng = new CounterRng(0xd20f, source.length);
    let rejected = 0;
    for (let i = 0; i < iterations; i++) {
      const state = before();
      const started = performance.now();
      const report = ws.addFiles([{ name: dropName, bytes: mutate(seed, rng) }]);
      expect(performance.now() - started).toBeLessThan(5000);
      if (report.problems.length > 0) {
        rejected++;
        expect(report.problems.every((p) => p.message.startsWith(p.fileName) && p.fileName === dropName)).toBe(true);
        // A rejected checkpoint leaves the checkpoints as they were; a rejected data file restores the data loaded before.
        expect(before().checkpoints).toEqual(state.checkpoints);
        if (!dropName.endsWith('.onnx')) expect(before()).toEqual(state);
      }
      // Put the sample back for the next drop (an accepted variant replaced or joined it).
      if (ws.checkpoints.some((c) => c.name === 'mutant.onnx')) ws.removeCheckpoint('mutant.onnx');
      if (!report.problems.length && !dropName.endsWith('.onnx')) ws.addFiles(sampleFiles().filter((f) => f.name === dropName || f.name === 'manifest.json'));
      expect(ws.splits().dev.size).toBeGreaterThan(0);
    }
    expect(rejected).toBeGreaterThan(0);
  });
});
