/**
 * The base decides what is merged, in the studio's engine as in the CLI: a tensor every
 * fine-tuned model changes the same way (equal across them, not to the base) is merged,
 * not copied from the first model (task arithmetic gives base + Σλτ), and two identical
 * fine-tunes with a base are a well-defined merge.
 */
import { describe, expect, it } from 'vitest';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE } from '../protocol/settings';
import { readOnnx } from '../formats/onnx-read';
import { replaceInitializerData } from '../formats/onnx-rewrite';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { hasSamples, sampleFiles } from '../testing/samples';
import type { NamedBytes } from '../protocol/files';

const floatsOf = (file: NamedBytes) => new Map(readOnnx(file.bytes, file.name).initializers.filter((i) => i.floats).map((i) => [i.name, i.floats!]));

async function engineWith(files: NamedBytes[]): Promise<MergeEngine> {
  const engine = new MergeEngine();
  await engine.init('wasm');
  expect((await engine.addFiles(files)).problems).toEqual([]);
  await engine.setBase('base.onnx');
  return engine;
}

describe.skipIf(!hasSamples)('the merge layout includes the base', () => {
  const files = sampleFiles({ withBase: true });
  const byName = (n: string) => files.find((f) => f.name === n)!;
  const a = floatsOf(byName('expert-a.onnx'));
  const base = floatsOf(byName('base.onnx'));
  // A tensor expert-a changes: every expert gets expert-a's copy of it.
  const shared = [...a.keys()].find((n) => a.get(n)!.some((v, i) => v !== base.get(n)![i]))!;
  const withShared = (f: NamedBytes): NamedBytes =>
    f.name === 'expert-b.onnx' || f.name === 'expert-c.onnx' ? { name: f.name, bytes: replaceInitializerData(f.bytes, new Map([[shared, new Uint8Array(a.get(shared)!.slice().buffer)]]), f.name) } : f;

  it('task arithmetic merges a change all experts share: base + Σ τ, not expert-a’s copy', async () => {
    const engine = await engineWith(files.map(withShared));
    await engine.merge({ ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 1 }, () => {});
    const exported = readSafetensors((await engine.exportSafetensors()).bytes, 'merged.safetensors');
    const got = tensorToFloat32(exported.tensors.find((t) => t.name === shared)!);
    const b = base.get(shared)!;
    const tau = a.get(shared)!;
    for (let i = 0; i < b.length; i++) expect(got[i]).toBeCloseTo(b[i]! + 3 * (tau[i]! - b[i]!), 5);
    const kinship = await engine.kinship();
    expect(kinship.overall[0]![1]!).toBeDefined();
  });

  it('two identical experts with a base merge (and compare) instead of failing "identical weights"', async () => {
    const twins = files.filter((f) => f.name !== 'expert-c.onnx').map((f) => (f.name === 'expert-b.onnx' ? { name: f.name, bytes: byName('expert-a.onnx').bytes } : f));
    const engine = await engineWith(twins);
    const result = await engine.merge({ ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 0.5 }, () => {});
    expect(result.final.dev.metrics.accuracy).toBeGreaterThan(0.5);
    const kinship = await engine.kinship();
    expect(kinship.names).toHaveLength(2);
  });
});
