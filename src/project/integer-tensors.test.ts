/**
 * Tensors that are not floats (I64 position ids) in sharded safetensors input: kept as their
 * stored bytes by readSafetensorsCheckpoint, whether the shards came as bytes or as Blobs
 * read tensor by tensor, and by the CLI's reader of a checkpoint's files.
 */
import { describe, expect, it } from 'vitest';
import { writeTypedSafetensors } from '../export/result-export';
import { groupSafetensors, readSafetensorsCheckpoint } from './safetensors-checkpoints';
import { readInputFile } from './input-files';
import { readTensorCheckpointFiles } from './tensor-sets';
import type { NamedBytes } from '../protocol/files';

const encoder = new TextEncoder();
const ids = BigInt64Array.from([0n, 1n, 2n, 3n]);

/** A two-shard checkpoint in folder `name`: floats in the first shard, I64 position ids and a float in the second. */
function sharded(name: string): NamedBytes[] {
  const shard1 = writeTypedSafetensors([{ name: 'w', shape: [2, 2], dtype: 'F32', data: Float32Array.from([1, 2, 3, 4]) }], {});
  const shard2 = writeTypedSafetensors(
    [
      { name: 'position_ids', shape: [1, 4], dtype: 'I64', bytes: new Uint8Array(ids.buffer.slice(0)) },
      { name: 'b', shape: [2], dtype: 'BF16', data: Float32Array.from([0.5, -1]) },
    ],
    {},
  );
  const weightMap = { w: 'model-00001-of-00002.safetensors', position_ids: 'model-00002-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' };
  return [
    { name: `${name}/model.safetensors.index.json`, bytes: encoder.encode(JSON.stringify({ metadata: {}, weight_map: weightMap })) },
    { name: `${name}/model-00001-of-00002.safetensors`, bytes: shard1 },
    { name: `${name}/model-00002-of-00002.safetensors`, bytes: shard2 },
  ];
}

function group(files: readonly NamedBytes[]) {
  const { groups, problems } = groupSafetensors(files.filter((f) => f.name.endsWith('.json')), files.filter((f) => f.name.endsWith('.safetensors')));
  expect(problems).toEqual([]);
  return groups[0]!;
}

describe('integer tensors of sharded safetensors', () => {
  it('are kept as stored bytes from shards given as bytes', () => {
    const source = readSafetensorsCheckpoint(group(sharded('m')));
    expect(source.tensors.map((t) => t.name)).toEqual(['w', 'b']);
    expect(source.raw).toHaveLength(1);
    expect(source.raw![0]).toMatchObject({ name: 'position_ids', dtype: 'I64', dims: [1, 4] });
    expect(Array.from(new BigInt64Array(source.raw![0]!.bytes.slice().buffer))).toEqual(Array.from(ids));
  });

  it('are kept from shards read as Blobs, tensor by tensor', async () => {
    const files = await Promise.all(sharded('m').map((f) => readInputFile(f.name.endsWith('.json') ? f : { name: f.name, blob: new Blob([f.bytes.slice()]) })));
    expect(files.some((f) => f.streamed)).toBe(true);
    const source = readSafetensorsCheckpoint(group(files));
    expect(source.raw!.map((r) => [r.name, r.dtype, r.dims])).toEqual([['position_ids', 'I64', [1, 4]]]);
    expect(Array.from(new BigInt64Array(source.raw![0]!.bytes.slice().buffer))).toEqual(Array.from(ids));
  });

  it('reach the CLI reader of a sharded checkpoint (skipped, with their bytes)', () => {
    const checkpoint = readTensorCheckpointFiles(sharded('m'));
    expect(checkpoint.skipped).toEqual([{ name: 'position_ids', dtype: 'I64', dims: [1, 4] }]);
    expect(checkpoint.raw!.map((r) => r.bytes.length)).toEqual([32]);
  });

  it('a checkpoint without any has no raw list', () => {
    const only = writeTypedSafetensors([{ name: 'w', shape: [2], dtype: 'F32', data: Float32Array.from([1, 2]) }], {});
    expect(readSafetensorsCheckpoint({ name: 'x', index: null, shards: [{ name: 'x.safetensors', bytes: only }] }).raw).toBeUndefined();
  });
});
