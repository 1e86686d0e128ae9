import { describe, expect, it } from 'vitest';
import { hubIdOfConfig, hubModelId, labelsOfConfig } from './hub-id';

describe("what a config.json tells the studio", () => {
  it('takes a Hub id, not a local path', () => {
    expect(hubIdOfConfig(JSON.stringify({ _name_or_path: 'meta-llama/Llama-3.2-1B' }))).toBe('meta-llama/Llama-3.2-1B');
    expect(hubIdOfConfig(JSON.stringify({ _name_or_path: '/home/me/ckpt/base' }))).toBeNull();
    expect(hubIdOfConfig(JSON.stringify({ _name_or_path: './base' }))).toBeNull();
    expect(hubIdOfConfig('not json')).toBeNull();
    expect(hubModelId(' acme/spam-base ')).toBe('acme/spam-base');
    expect(hubModelId('acme/../x')).toBeNull();
  });

  it("takes id2label's names in order, not transformers' placeholders or a list with gaps", () => {
    expect(labelsOfConfig(JSON.stringify({ id2label: { 1: 'spam', 0: 'ham' } }))).toEqual(['ham', 'spam']);
    expect(labelsOfConfig(JSON.stringify({ id2label: { 0: 'LABEL_0', 1: 'LABEL_1' } }))).toBeNull();
    expect(labelsOfConfig(JSON.stringify({ id2label: { 0: 'a', 2: 'c' } }))).toBeNull();
    expect(labelsOfConfig(JSON.stringify({ model_type: 'gpt2' }))).toBeNull();
  });
});
