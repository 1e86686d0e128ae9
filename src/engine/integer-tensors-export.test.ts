/**
 * The studio's safetensors export copies the tensors that are not floats (I64 position ids)
 * through from the base (or the first model), under the checkpoints' own names, in one file
 * and sharded, as the CLI does (writeTypedSafetensors).
 */
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { MergeEngine } from './engine';
import { readSafetensors } from '../formats/safetensors-read';
import { writeTypedSafetensors } from '../export/result-export';
import { DEFAULT_EXPORT } from '../protocol/files';
import { DEFAULT_MERGE } from '../protocol/settings';
import { hasSamples, sampleBytes, sampleFiles, shardedCheckpointFiles } from '../testing/samples';
import type { NamedBytes } from '../protocol/files';

const idsOf = (model: string) => BigInt64Array.from([0n, 1n, 2n, model === 'base' ? 7n : 3n]);

/** A sharded sample checkpoint with one more shard holding I64 position ids (the base's differ). */
function withIds(model: string): NamedBytes[] {
  const files = shardedCheckpointFiles(model);
  const index = files.find((f) => f.name.endsWith('.index.json'))!;
  const json = JSON.parse(new TextDecoder().decode(index.bytes)) as { weight_map: Record<string, string> };
  json.weight_map.position_ids = 'ids.safetensors';
  const shard = writeTypedSafetensors([{ name: 'position_ids', shape: [1, 4], dtype: 'I64', bytes: new Uint8Array(idsOf(model).buffer) }], {});
  return [...files.filter((f) => f !== index), { name: index.name, bytes: new TextEncoder().encode(JSON.stringify(json)) }, { name: `${model}/ids.safetensors`, bytes: shard }];
}

const idsIn = (bytes: Uint8Array, name: string) => {
  const t = readSafetensors(bytes, name).tensors.find((x) => x.name === 'position_ids');
  return t && { dtype: t.dtype, shape: t.shape, values: Array.from(new BigInt64Array(t.data.slice().buffer)) };
};

describe.skipIf(!hasSamples)('integer tensors in the studio export', () => {
  it('are copied from the base into one file and into shards', async () => {
    const engine = new MergeEngine();
    await engine.init('wasm');
    const data = sampleFiles().filter((f) => !f.name.endsWith('.onnx'));
    const report = await engine.addFiles([...data, { name: 'base.onnx', bytes: sampleBytes('base.onnx') }, ...['expert-a', 'expert-b', 'expert-c', 'base'].flatMap(withIds)]);
    expect(report.problems).toEqual([]);
    await engine.setBase('base');
    await engine.merge({ ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 0.5 }, () => {});
    const base = Array.from(idsOf('base'));

    const single = await engine.exportFile({ ...DEFAULT_EXPORT, dtype: 'BF16' });
    expect(idsIn(single.bytes, single.fileName)).toEqual({ dtype: 'I64', shape: [1, 4], values: base });
    expect(readSafetensors(single.bytes, single.fileName).tensors.find((t) => t.name === 'head.weight')?.dtype).toBe('BF16');

    const zip = unzipSync((await engine.exportFile({ ...DEFAULT_EXPORT, shardBytes: 100_000 })).bytes);
    const index = JSON.parse(new TextDecoder().decode(zip['model.safetensors.index.json']!)) as { weight_map: Record<string, string> };
    const shardName = index.weight_map.position_ids!;
    expect(shardName).toMatch(/^model-\d{5}-of-\d{5}\.safetensors$/);
    expect(idsIn(zip[shardName]!, shardName)).toEqual({ dtype: 'I64', shape: [1, 4], values: base });
    // Every tensor the index names sits in its shard.
    for (const [name, file] of Object.entries(index.weight_map)) expect(readSafetensors(zip[file]!, file).tensors.some((t) => t.name === name)).toBe(true);

    // Without a base, the first model's.
    await engine.setBase(null);
    await engine.removeCheckpoint('base');
    await engine.merge({ ...DEFAULT_MERGE, method: 'linear' }, () => {});
    const first = await engine.exportFile(DEFAULT_EXPORT);
    expect(idsIn(first.bytes, first.fileName)?.values).toEqual(Array.from(idsOf('expert-a')));
  }, 120_000);
});
