/**
 * Every parser of untrusted files, fuzzed from real files with seeded mutations:
 * 0 crashes (only the parser's own errors, naming the file) and 0 hangs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzz, type FuzzParams } from '../testing/fuzz';
import { hasSamples, sampleBytes } from '../testing/samples';
import { readOnnx } from './onnx-read';
import { readSafetensors } from './safetensors-read';
import { writeSafetensors } from './safetensors-write';
import { parseJsonlBytes } from '../eval/dataset';
import { loadTokenizer } from '../eval/tokenize';
import { parseRecipe } from '../export/recipe';
import { readTensorCheckpoint } from '../project/tensor-sets';
import { DEFAULT_SETTINGS } from '../protocol/settings';
import { guessColumns, parseCsvBytes, tableRows } from '../eval/csv';
import { groupSafetensors, readSafetensorsCheckpoint, SafetensorsCheckpointError } from '../project/safetensors-checkpoints';

const fixture = (name: string) => new Uint8Array(readFileSync(path.join(import.meta.dirname, 'fixtures', name)));
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A safetensors file the studio could export: metadata, F32 and BF16 tensors. */
function safetensorsSeed(): Uint8Array {
  const data = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i) * 3);
  return writeSafetensors(
    [
      { name: 'layers.0.w', shape: [8, 6], data: data.subarray(0, 48) },
      { name: 'layers.0.b', shape: [48], data: data.subarray(48) },
    ],
    { format: 'pt', recipe: '{"seed": 1}' },
  );
}

function check(params: FuzzParams) {
  const report = fuzz(params);
  expect(report.crashes).toEqual([]);
  expect(report.hangs).toEqual([]);
  // The mutations must exercise the error paths, not only survive them.
  expect(report.rejected).toBeGreaterThan(params.iterations / 10);
  return report;
}

describe('parsers under seeded mutation fuzzing', () => {
  it('safetensors: 2000 variants', () => {
    check({ fileName: 'model.safetensors', seed: safetensorsSeed(), iterations: 2000, expected: ['SafetensorsFormatError'], parse: readSafetensors });
    check({ fileName: 'mixed.safetensors', seed: fixture('mixed-dtypes.safetensors'), iterations: 1000, expected: ['SafetensorsFormatError'], parse: readSafetensors });
  });

  it('ONNX (a real torch.onnx.export file): 1500 variants', () => {
    check({ fileName: 'tiny-classifier.onnx', seed: fixture('tiny-classifier.onnx'), iterations: 1500, expected: ['OnnxFormatError'], parse: readOnnx });
  });

  it('checkpoints as the CLI reads them (format sniffing, then ONNX or safetensors)', () => {
    const expected = ['OnnxFormatError', 'SafetensorsFormatError', 'CheckpointError'];
    check({ fileName: 'tiny-classifier.onnx', seed: fixture('tiny-classifier.onnx'), iterations: 500, expected, parse: (bytes, name) => readTensorCheckpoint({ name, bytes }) });
    check({ fileName: 'w.safetensors', seed: safetensorsSeed(), iterations: 500, expected, parse: (bytes, name) => readTensorCheckpoint({ name, bytes }) });
  });

  it.skipIf(!hasSamples)('dev JSONL and tokenizer.json from the sample', () => {
    const dev = sampleBytes('dev.jsonl').subarray(0, 40_000);
    const cut = dev.lastIndexOf(10) + 1;
    check({ fileName: 'dev.jsonl', seed: dev.subarray(0, cut), iterations: 600, expected: ['DatasetError'], parse: parseJsonlBytes });
    const report = fuzz({ fileName: 'tokenizer.json', seed: sampleBytes('tokenizer.json'), iterations: 60, expected: ['DatasetError'], parse: (bytes, name) => loadTokenizer(decode(bytes), name) });
    expect(report.crashes).toEqual([]);
    expect(report.hangs).toEqual([]);
  });

  it.skipIf(!hasSamples)('dev CSV (parsed, columns guessed, rows read) from the sample', () => {
    const rows = decode(sampleBytes('dev.jsonl')).split('\n').filter(Boolean).slice(0, 60).map((l) => JSON.parse(l) as { text: string; label: string; domain: string });
    const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;
    const csv = new TextEncoder().encode(['id,message,is_spam,source', ...rows.map((r, i) => [i, quote(r.text.slice(0, 300)), r.label, r.domain].join(','))].join('\r\n'));
    const parse = (bytes: Uint8Array, name: string) => {
      const table = parseCsvBytes(bytes, name);
      return tableRows(table, guessColumns(table));
    };
    check({ fileName: 'dev.csv', seed: csv, iterations: 800, expected: ['DatasetError'], parse });
  });

  it('sharded checkpoints: a damaged index or shard is named, never a crash', () => {
    const shard = safetensorsSeed();
    const index = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 384 }, weight_map: { 'layers.0.w': 'model-00001-of-00001.safetensors', 'layers.0.b': 'model-00001-of-00001.safetensors' } }));
    const expected = ['SafetensorsCheckpointError', 'SafetensorsFormatError'];
    const load = (indexBytes: Uint8Array, shardBytes: Uint8Array) => {
      const { groups, problems } = groupSafetensors([{ name: 'm/model.safetensors.index.json', bytes: indexBytes }], [{ name: 'm/model-00001-of-00001.safetensors', bytes: shardBytes }]);
      if (problems.length > 0) throw new SafetensorsCheckpointError(problems[0]!.fileName, problems[0]!.message);
      return groups.map(readSafetensorsCheckpoint);
    };
    check({ fileName: 'm/model.safetensors.index.json', seed: index, iterations: 600, expected, parse: (bytes) => load(bytes, shard) });
    check({ fileName: 'm/model-00001-of-00001.safetensors', seed: shard, iterations: 600, expected, parse: (bytes) => load(index, bytes) });
  });

  it('recipes', () => {
    const seed = new TextEncoder().encode(JSON.stringify({ ...DEFAULT_SETTINGS, merger: { ...DEFAULT_SETTINGS.merger, rules: { density: [0.2, 0.8] } }, base: 'base.onnx', sources: ['a.onnx'] }));
    const parse = (bytes: Uint8Array, name: string) => {
      let json: unknown;
      try {
        json = JSON.parse(decode(bytes));
      } catch {
        return null; // not JSON: the studio treats it as data, the CLI reports "not a recipe"
      }
      return parseRecipe(json, name);
    };
    const report = fuzz({ fileName: 'run.recipe.json', seed, iterations: 2000, expected: ['RecipeError'], parse });
    expect(report.crashes).toEqual([]);
    expect(report.hangs).toEqual([]);
  });
});
