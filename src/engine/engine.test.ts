/**
 * The engine end to end in Node on the WASM path with the real sample checkpoints:
 * load, evolve, export, read the export back strictly and re-score it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../protocol/settings';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE } from '../protocol/settings';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { scoreWeights } from '../eval/score-checkpoint';
import { parseJsonl, encodeDataset } from '../eval/dataset';
import { loadTokenizer } from '../eval/tokenize';
import type { NamedBytes } from '../protocol/files';
import type { ProgressEvent } from '../protocol/events';
import { hasSamples, sampleBytes, sampleFiles, sampleManifest, type SampleManifest } from '../testing/samples';

function samples(): { manifest: SampleManifest; files: NamedBytes[] } {
  return { manifest: sampleManifest(), files: sampleFiles() };
}

describe.skipIf(!hasSamples)('MergeEngine on the sample checkpoints (WASM path)', () => {
  it('loads, rejects a bad file without losing state, evolves, exports and re-scores', async () => {
    const { manifest, files } = samples();
    const engine = new MergeEngine();
    expect((await engine.init('wasm')).path).toBe('wasm');
    const report = await engine.addFiles(files);
    expect(report.problems).toEqual([]);
    expect(report.checkpoints).toHaveLength(3);
    expect(report.dataset?.heldoutSource).toBe('file');

    const bad = await engine.addFiles([{ name: 'garbage.onnx', bytes: new Uint8Array([1, 2, 3, 4, 5]) }]);
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0].message).toMatch(/^garbage\.onnx/);
    expect(bad.checkpoints).toHaveLength(3);

    // A checkpoint of another architecture is named, with what differs; nothing is lost.
    const other = new Uint8Array(readFileSync(path.resolve(import.meta.dirname, '../formats/fixtures/tiny-classifier.onnx')));
    const mismatch = await engine.addFiles([{ name: 'tiny-classifier.onnx', bytes: other }]);
    expect(mismatch.problems).toHaveLength(1);
    expect(mismatch.problems[0].message).toMatch(/^tiny-classifier\.onnx: not the same architecture as expert-a\.onnx: /);
    expect(mismatch.problems[0].message).toMatch(/opset|initializer|node|input|output/);
    expect(mismatch.checkpoints.map((c) => c.name)).toEqual(['expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx']);

    // A dev row whose label the model cannot output is reported with file and line; the loaded dev set stays.
    const badRows = new TextEncoder().encode('{"text": "hello", "label": 0}\n{"text": "free money", "label": 7}\n');
    const badDev = await engine.addFiles([{ name: 'dev-typo.jsonl', bytes: badRows }]);
    expect(badDev.problems).toHaveLength(1);
    expect(badDev.problems[0].message).toMatch(/^dev-typo\.jsonl.*line 2/);
    expect(badDev.dataset?.devFile).toBe(manifest.dev);

    const events: ProgressEvent[] = [];
    const result = await engine.run({ ...DEFAULT_SETTINGS, f: 0.5, cr: 0.5, generations: 1, seed: 5, mode: 'merged', merger: DEFAULT_MERGE }, (e) => events.push(e));
    expect(result.history.map((h) => h.generation)).toEqual([0, 1]);
    expect(result.counters.offspring).toBe(3);
    expect(result.counters.sessionsCreatedDuringRun).toBe(0);
    expect(result.final.dev.metrics.accuracy).toBeGreaterThanOrEqual(result.initialMerge.dev.metrics.accuracy);
    expect(events.filter((e) => e.type === 'offspring')).toHaveLength(3);

    const exported = await engine.exportSafetensors();
    const file = readSafetensors(exported.bytes, exported.fileName);
    expect(file.metadata.seed).toBe('5');
    const tokenizer = loadTokenizer(new TextDecoder().decode(sampleBytes(manifest.tokenizer)), manifest.tokenizer);
    const rows = parseJsonl(new TextDecoder().decode(sampleBytes(manifest.dev)), manifest.dev);
    const graphName = manifest.models.find((m) => m.role !== 'base')!.file;
    const graph = sampleBytes(graphName);
    const dataset = encodeDataset(rows, { fileName: manifest.dev, tokenizer, sequenceLength: 64, padId: tokenizer.padId ?? 0, labelCount: 2, labels: manifest.labels });
    const scores = await scoreWeights(graph, graphName, file.tensors.map((t) => ({ name: t.name, data: tensorToFloat32(t) })), dataset);
    expect(scores.metrics.accuracy).toBe(result.final.dev.metrics.accuracy);
    expect(scores.metrics.macroF1).toBe(result.final.dev.metrics.macroF1);
  });

  it('one seed reproduces the run bit-exactly', async () => {
    const once = async (seed: number) => {
      const engine = new MergeEngine();
      await engine.init('wasm');
      await engine.addFiles(samples().files);
      const result = await engine.run({ ...DEFAULT_SETTINGS, f: 0.5, cr: 0.5, generations: 1, seed, mode: 'individual', merger: DEFAULT_MERGE }, () => {});
      return { history: result.history, bytes: (await engine.exportSafetensors()).bytes };
    };
    const a = await once(9);
    const b = await once(9);
    expect(b.history).toEqual(a.history);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
  });
});
