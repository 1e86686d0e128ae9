/**
 * Every parser of untrusted files, fuzzed from real files with seeded mutations:
 * 0 crashes (only the parser's own errors, naming the file) and 0 hangs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzz, type FuzzParams } from '../testing/fuzz';
import { hasSamples, sampleBytes } from '../testing/samples';
import { readOnnx } from './onnx';
import { readSafetensors, writeSafetensors } from './safetensors';
import { parseJsonlBytes } from '../eval/dataset';
import { loadTokenizer } from '../eval/tokenize';
import { parseRecipe } from '../engine/recipe';
import { readTensorCheckpoint } from '../engine/tensor-sets';
import { DEFAULT_SETTINGS } from '../engine/types';

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
