import { describe, expect, it } from 'vitest';
import { NotReadyError } from '../../protocol/errors';
import { fisher } from './fisher';

describe('Fisher merging outside classification', () => {
  it('refuses a language model by name, before reading its graph, and names another merger', async () => {
    const prepare = fisher.prepare!;
    const call = prepare({ checkpoints: [{ name: 'expert-spam.onnx' }], layout: { slots: [] }, dev: { task: 'causal-lm' }, onPhase: () => undefined } as unknown as Parameters<typeof prepare>[0]);
    await expect(call).rejects.toThrow(NotReadyError);
    await expect(call).rejects.toThrow(/sequence classification only; expert-spam\.onnx is scored as .*RegMean/);
  });
});
