// --task and --labels: the named task (checked against the graph) or the guess from the graph
// and the dev rows; label names from a list, {"labels"} or an HF config.json's id2label.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GraphSignature } from '../src/eval/tasks/task';
import { labelsFromOptions, taskFromOptions } from './task-option';

const decoder: GraphSignature = { inputs: [{ name: 'input_ids', dims: ['batch', 'sequence'] }], outputs: [{ name: 'logits', dims: ['batch', 'sequence', 1280] }] };
const tagger: GraphSignature = { inputs: [{ name: 'input_ids', dims: ['batch', 'sequence'] }], outputs: [{ name: 'logits', dims: ['batch', 'sequence', 5] }] };
const head1: GraphSignature = { inputs: [{ name: 'input_ids', dims: ['batch', 64] }], outputs: [{ name: 'score', dims: ['batch', 1] }] };

describe('--task', () => {
  it('guesses from the graph and the rows when not given', () => {
    expect(taskFromOptions({}, decoder, [{ text: 'a b', line: 1 }], 'g.onnx', 'eval').id).toBe('causal-lm');
    expect(taskFromOptions({}, decoder, [{ context: 'a', choices: ['b', 'c'], label: 0, line: 1 }], 'g.onnx', 'eval').id).toBe('multiple-choice');
    expect(taskFromOptions({}, tagger, [{ tokens: ['a'], tags: ['O'], line: 1 }], 'g.onnx', 'eval').id).toBe('token-classification');
    expect(taskFromOptions({}, tagger, [], 'g.onnx', 'eval').id).toBe('token-classification');
    expect(taskFromOptions({}, head1, [{ text: 'a', label: 0.5, line: 1 }], 'g.onnx', 'eval').id).toBe('regression');
  });

  it('takes the named task, and refuses an unknown one or one the graph cannot be', () => {
    expect(taskFromOptions({ task: 'multiple-choice' }, decoder, [], 'g.onnx', 'eval').id).toBe('multiple-choice');
    expect(() => taskFromOptions({ task: 'nope' }, decoder, [], 'g.onnx', 'eval')).toThrow(/--task nope: unknown task \(known: sequence-classification, causal-lm/);
    expect(() => taskFromOptions({ task: 'regression' }, decoder, [], 'g.onnx', 'eval')).toThrow(/g\.onnx: a regression model cannot have the outputs logits \[batch, sequence, 1280\]/);
  });
});

describe('--labels', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'labels-'));
  const file = (name: string, json: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof json === 'string' ? json : JSON.stringify(json));
    return p;
  };
  it('reads a list, {"labels"} and id2label, in model order', () => {
    expect(labelsFromOptions({})).toBeUndefined();
    expect(labelsFromOptions({ labels: file('a.json', ['O', 'B-X']) })).toEqual(['O', 'B-X']);
    expect(labelsFromOptions({ labels: file('b.json', { labels: ['O', 'B-X'] }) })).toEqual(['O', 'B-X']);
    expect(labelsFromOptions({ labels: file('c.json', { id2label: { 1: 'B-X', 0: 'O' } }) })).toEqual(['O', 'B-X']);
  });
  it('names the file of a list it cannot read', () => {
    expect(() => labelsFromOptions({ labels: file('d.json', '{') })).toThrow(/d\.json: not a readable JSON file/);
    expect(() => labelsFromOptions({ labels: file('e.json', { id2label: { 0: 'O', 5: 'B' } }) })).toThrow(/e\.json: "id2label" must map 0\.\.1 to names \(bad entry "5"\)/);
    expect(() => labelsFromOptions({ labels: file('f.json', { x: 1 }) })).toThrow(/f\.json: expected a JSON list of names/);
  });
});
