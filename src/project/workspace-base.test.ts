/** The snapshot counts the merged tensors as the merge layout does: with the base. */
import { describe, expect, it } from 'vitest';
import { hasSamples, sampleFiles } from '../testing/samples';
import { mergedLayout } from '../merge/layout';
import { Workspace } from './workspace';

describe.skipIf(!hasSamples)('the snapshot counts merged tensors with the base', () => {
  it('two identical experts with a base have tensors to merge; the counts match the layout', () => {
    const files = sampleFiles({ withBase: true }).filter((f) => f.name !== 'expert-c.onnx');
    const a = files.find((f) => f.name === 'expert-a.onnx')!;
    const twins = files.map((f) => (f.name === 'expert-b.onnx' ? { name: f.name, bytes: a.bytes } : f));
    const ws = new Workspace();
    expect(ws.addFiles(twins).problems).toEqual([]);
    expect(ws.baseName).toBe('base.onnx');
    const layout = mergedLayout([...ws.population(), ws.base()!].map((c) => c.model));
    expect(layout.slots.length).toBeGreaterThan(0);
    const withBase = ws.snapshot().architecture!;
    expect(withBase.mergedTensors).toBe(layout.slots.length);
    expect(withBase.mergedParameters).toBe(layout.totalSize);
    expect(withBase.populationBytes).toBeGreaterThan(0);
    // Without the base the twins are identical: nothing differs.
    ws.setBase(null);
    ws.removeCheckpoint('base.onnx');
    expect(ws.snapshot().architecture!.mergedTensors).toBe(0);
  });

  it('a base and one expert (SLERP from the base) count what differs between them', () => {
    const ws = new Workspace();
    expect(ws.addFiles(sampleFiles({ withBase: true }).filter((f) => f.name !== 'expert-b.onnx' && f.name !== 'expert-c.onnx')).problems).toEqual([]);
    const layout = mergedLayout([...ws.population(), ws.base()!].map((c) => c.model));
    expect(ws.snapshot().architecture!.mergedTensors).toBe(layout.slots.length);
    expect(layout.slots.length).toBeGreaterThan(0);
  });
});
