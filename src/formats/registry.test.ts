import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMATS, detectFormat } from './registry';
import { writeSafetensors } from './safetensors-write';

const text = (s: string) => new TextEncoder().encode(s);
const onnxBytes = new Uint8Array(readFileSync(join(__dirname, 'fixtures', 'tiny-classifier.onnx')));
const safetensorsBytes = writeSafetensors([{ name: 'w', shape: [3], data: new Float32Array([0.25, -1.5, 3]) }]);
const tokenizerHead = text('{"version":"1.0","truncation":null,"added_tokens":[{"id":0,"content":"[PAD]"}],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"model":{"type":"WordLevel"');
const jsonl = text('{"text": "hello", "label": 1}\n{"text": "bye", "label": 0}\n{"text": "cut off mid-li');

describe('detectFormat', () => {
  it('trusts known extensions', () => {
    expect(detectFormat('models/expert-a.onnx', onnxBytes)).toBe('onnx');
    expect(detectFormat('merged.SAFETENSORS', safetensorsBytes)).toBe('safetensors');
    expect(detectFormat('dev.jsonl', jsonl)).toBe('jsonl');
    expect(detectFormat('dev.ndjson', jsonl)).toBe('jsonl');
    expect(detectFormat('config.json', text('{"hidden_size": 48}'))).toBe('json');
  });

  it('recognises tokenizer.json by name or by its keys', () => {
    expect(detectFormat('some/dir/Tokenizer.json', text('{}'))).toBe('tokenizer');
    expect(detectFormat('vocab-v2.json', tokenizerHead)).toBe('tokenizer');
    expect(detectFormat('labels.json', text('{"model": "x"}'))).toBe('json');
  });

  it('falls back to magic bytes when the name says nothing', () => {
    expect(detectFormat('checkpoint', onnxBytes.subarray(0, 65536))).toBe('onnx');
    expect(detectFormat('weights.bin', safetensorsBytes.subarray(0, 32))).toBe('safetensors');
    expect(detectFormat('data.txt', jsonl)).toBe('jsonl');
    expect(detectFormat('blob', tokenizerHead)).toBe('tokenizer');
    expect(detectFormat('blob', text('\uFEFF  [1, 2, 3]'))).toBe('json');
    expect(detectFormat('notes.txt', text('hello world, not a model'))).toBe('unknown');
    expect(detectFormat('empty', new Uint8Array(0))).toBe('unknown');
  });
});

describe('FORMATS', () => {
  it('opens the files its entries match with the reader of that format', () => {
    const entry = (format: string) => FORMATS.find((f) => f.format === format)!;
    expect(entry('onnx').match({ name: 'x', extension: '', head: onnxBytes, text: '' }, true)).toBe(true);
    expect((entry('onnx').open!(onnxBytes, 'x.onnx') as { nodes: unknown[] }).nodes.length).toBeGreaterThan(0);
    expect((entry('safetensors').open!(safetensorsBytes, 'w.safetensors') as { tensors: { name: string }[] }).tensors.map((t) => t.name)).toEqual(['w']);
    expect(new Set(FORMATS.map((f) => f.format)).size).toBe(FORMATS.length);
  });
});
