/**
 * The rule (merge/base-as-model.ts), and how the studio's engine applies it: SLERP of the base
 * and one expert takes the base as its t = 0 side (not scored or reported as a source); with
 * two experts SLERP merges them and the base stays the task-vector reference; linear averages
 * the fine-tuned models only (the CLI, following mergekit's --base, adds the base there).
 */
import { describe, expect, it } from 'vitest';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE } from '../protocol/settings';
import { readOnnx } from '../formats/onnx-read';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { slerp as slerpCpu } from '../kernels/slerp/slerp.cpu';
import { baseAsModel } from '../merge/base-as-model';
import { findMethod } from '../merge/registry';
import { hasSamples, sampleFiles } from '../testing/samples';
import type { NamedBytes } from '../protocol/files';

const floatsOf = (file: NamedBytes) => new Map(readOnnx(file.bytes, file.name).initializers.filter((i) => i.floats).map((i) => [i.name, i.floats!]));

async function exported(engine: MergeEngine): Promise<Map<string, Float32Array>> {
  const file = readSafetensors((await engine.exportSafetensors()).bytes, 'merged.safetensors');
  return new Map(file.tensors.map((t) => [t.name, tensorToFloat32(t)]));
}

describe('baseAsModel', () => {
  const params = { ...DEFAULT_MERGE, weights: [2, 3] };
  it('puts the base first for SLERP, last (weight 1) for linear, and leaves base methods alone', () => {
    expect(baseAsModel(['a'], 'B', findMethod('slerp')!, DEFAULT_MERGE)).toMatchObject({ models: ['B', 'a'], base: null, positions: [1] });
    expect(baseAsModel(['a', 'b'], 'B', findMethod('linear')!, params)).toMatchObject({ models: ['a', 'b', 'B'], base: null, positions: [0, 1], params: { weights: [2, 3, 1] } });
    expect(baseAsModel(['a', 'b'], 'B', findMethod('ties')!, params)).toMatchObject({ models: ['a', 'b'], base: 'B', positions: [0, 1], params: { weights: [2, 3] } });
    expect(baseAsModel(['a', 'b'], null, findMethod('linear')!, params)).toMatchObject({ models: ['a', 'b'], base: null, params: { weights: [2, 3] } });
  });
});

describe.skipIf(!hasSamples)('the engine reads the base as a model where SLERP lacks one', () => {
  const files = sampleFiles({ withBase: true });
  const byName = (n: string) => floatsOf(files.find((f) => f.name === n)!);
  const base = byName('base.onnx');
  const experts = ['expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx'].map(byName);

  async function engineWith(names: string[]): Promise<MergeEngine> {
    const engine = new MergeEngine();
    await engine.init('wasm');
    const dropped = files.filter((f) => !f.name.endsWith('.onnx') || names.includes(f.name));
    expect((await engine.addFiles(dropped)).problems).toEqual([]);
    expect((await engine.setBase('base.onnx')).checkpoints.find((c) => c.isBase)?.name).toBe('base.onnx');
    return engine;
  }

  it('SLERP of the base (t = 0) and one expert', async () => {
    const engine = await engineWith(['base.onnx', 'expert-a.onnx']);
    const result = await engine.merge({ ...DEFAULT_MERGE, method: 'slerp', t: 0.3 }, () => {});
    expect(result.individuals.map((m) => m.name)).toEqual(['expert-a.onnx']);
    const got = await exported(engine);
    let checked = 0;
    for (const [name, b] of base) {
      const a = experts[0]!.get(name)!;
      if (a.every((v, i) => v === b[i])) continue;
      const want = new Float32Array(b.length);
      slerpCpu(b, a, { t: 0.3 }, want);
      const merged = got.get(name)!;
      for (let i = 0; i < want.length; i++) expect(merged[i]).toBeCloseTo(want[i]!, 6);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    // t = 0 is the base itself.
    await engine.merge({ ...DEFAULT_MERGE, method: 'slerp', t: 0 }, () => {});
    const atZero = await exported(engine);
    for (const [name, b] of base) expect(Array.from(atZero.get(name)!)).toEqual(Array.from(b));
    // Two experts besides the base: SLERP merges the two, as the studio always did.
    const two = await engineWith(['base.onnx', 'expert-a.onnx', 'expert-b.onnx']);
    const pair = await two.merge({ ...DEFAULT_MERGE, method: 'slerp' }, () => {});
    expect(pair.individuals.map((m) => m.name)).toEqual(['expert-a.onnx', 'expert-b.onnx']);
  }, 120_000);

  it('linear averages the fine-tuned models only (the base is the task-vector reference)', async () => {
    const engine = await engineWith(['base.onnx', 'expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx']);
    const result = await engine.merge({ ...DEFAULT_MERGE, method: 'linear' }, () => {});
    expect(result.individuals).toHaveLength(3);
    const got = await exported(engine);
    for (const [name] of base) {
      const merged = got.get(name)!;
      for (let i = 0; i < merged.length; i += 7) expect(merged[i]).toBeCloseTo(experts.reduce((n, e) => n + e.get(name)![i]!, 0) / 3, 5);
    }
  }, 120_000);
});
