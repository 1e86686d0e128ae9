// A file no reader takes is refused by name, and the refusal lists every kind the studio accepts.
import { describe, expect, it } from 'vitest';
import { Workspace } from './workspace';

describe('Workspace refusal of an unknown file', () => {
  it('names the file and lists every accepted kind', () => {
    const report = new Workspace().addFiles([{ name: 'notes.txt', bytes: new TextEncoder().encode('just some notes\n') }]);
    expect(report.problems).toHaveLength(1);
    const { fileName, message } = report.problems[0]!;
    expect(fileName).toBe('notes.txt');
    expect(message).toMatch(/^notes\.txt: not a file the studio reads; it accepts /);
    for (const kind of ['.onnx', '.onnx_data', '.safetensors', '.safetensors.index.json', 'tokenizer.json', '.jsonl', '.csv', '.tsv', 'recipes (.json)', '.yml', '.yaml']) {
      expect(message).toContain(kind);
    }
  });
});
