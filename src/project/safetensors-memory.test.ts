/**
 * A loaded safetensors checkpoint holds its parameters once in float32: in the graph bytes
 * it runs as. Its own tensors keep names and shapes, and values only where the graph has
 * no place for them, which the export under its own names still writes as they came.
 */
import { describe, expect, it } from 'vitest';
import { MergeEngine } from '../engine/engine';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { floatInitializers } from '../merge/layout';
import { DEFAULT_EXPORT } from '../protocol/files';
import { DEFAULT_MERGE } from '../protocol/settings';
import { hasSamples, sampleBytes, sampleFiles, shardedCheckpointFiles } from '../testing/samples';
import { groupSafetensors, readSafetensorsCheckpoint } from './safetensors-checkpoints';
import { Workspace, type Checkpoint } from './workspace';

function drop(models: readonly string[]) {
  return [...sampleFiles().filter((f) => !f.name.endsWith('.onnx')), { name: 'base.onnx', bytes: sampleBytes('base.onnx') }, ...models.flatMap(shardedCheckpointFiles)];
}

/** Float32 bytes reachable from a value, whatever its shape (so it measures any layout of `source`). */
function float32Bytes(value: unknown, seen = new Set<unknown>()): number {
  if (value instanceof Float32Array) return value.byteLength;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || seen.has(value)) return 0;
  seen.add(value);
  return Object.values(value).reduce<number>((n, v) => n + float32Bytes(v, seen), 0);
}

const parameterBytes = (c: Checkpoint) => floatInitializers(c.model).reduce((n, init) => n + 4 * init.floats!.length, 0);

describe.skipIf(!hasSamples)('safetensors checkpoints in memory', () => {
  it('hold their mapped values once, in the graph bytes, not again as their own tensors', () => {
    const ws = new Workspace();
    expect(ws.addFiles(drop(['expert-a', 'expert-b', 'expert-c', 'base'])).problems).toEqual([]);
    expect(ws.checkpoints).toHaveLength(4);
    for (const c of ws.checkpoints) {
      expect(parameterBytes(c)).toBe(4 * 233_186);
      // Every tensor is mapped: nothing beside the graph holds values.
      expect(float32Bytes(c.source)).toBe(0);
      expect((c.bytes.byteLength + float32Bytes(c.source)) / parameterBytes(c)).toBeLessThan(1.1);
      expect(c.source!.shapes).toHaveLength(38);
    }
    // The memory plan counts what is held: the graph bytes and the initializers read from them.
    const memory = ws.snapshot().architecture!.memory!;
    expect(memory.workerBytes - memory.populationBytes).toBe(ws.checkpoints.reduce((n, c) => n + c.bytes.byteLength + parameterBytes(c), 0));
    expect(ws.snapshot().checkpoints.map((c) => c.tensorCount)).toEqual([38, 38, 38, 38]);
  });

  it('keep the values of the tensors the graph has no place for, and export them as they came', async () => {
    const models = ['expert-a', 'expert-b'];
    const ws = new Workspace();
    expect(ws.addFiles(drop(models)).problems).toEqual([]);
    const unmapped = ws.project!.mapping.unmappedTensors;
    expect(unmapped).toHaveLength(12); // without the graph's own checkpoint, the renamed weights find no place
    const files = shardedCheckpointFiles('expert-a');
    const own = readSafetensorsCheckpoint(groupSafetensors(files.filter((f) => f.name.endsWith('.index.json')), files.filter((f) => f.name.endsWith('.safetensors'))).groups[0]!);
    const sizeOf = (name: string) => own.tensors.find((t) => t.name === name)!.data.byteLength;
    for (const c of ws.checkpoints) {
      expect(c.source!.unmapped.map((t) => t.name)).toEqual(unmapped);
      expect(float32Bytes(c.source)).toBe(unmapped.reduce((n, name) => n + sizeOf(name), 0));
    }

    const engine = new MergeEngine();
    await engine.init('wasm');
    await engine.addFiles(drop(models));
    await engine.merge({ ...DEFAULT_MERGE, method: 'linear' }, () => {});
    const exported = readSafetensors((await engine.exportFile(DEFAULT_EXPORT)).bytes, 'merged');
    expect(exported.tensors.map((t) => t.name)).toEqual(own.tensors.map((t) => t.name));
    // Unmapped tensors come from the first model unchanged.
    for (const name of unmapped) expect(Array.from(tensorToFloat32(exported.tensors.find((t) => t.name === name)!))).toEqual(Array.from(own.tensors.find((t) => t.name === name)!.data));
  }, 120_000);
});
