/**
 * `merge --out DIR` (mergekit's output folder) copies the tensors that are not floats
 * (I64 position ids) through from the base, or the first model, as the single-file path
 * does; from single-file and from sharded safetensors models alike.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTypedSafetensors, type TypedTensor } from '../src/export/result-export';
import { readSafetensors } from '../src/formats/safetensors-read';
import { storedIntegerTensors } from './merge-output';
import { cliInProcess as cli } from './cli-testing';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-int-'));
const idsOf = (seed: number) => BigInt64Array.from([0n, 1n, 2n, BigInt(seed)]);

function tensorsOf(seed: number): TypedTensor[] {
  return [
    { name: 'embed.weight', shape: [4, 4], dtype: 'F32', data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(seed * 3 + i)) },
    { name: 'position_ids', shape: [1, 4], dtype: 'I64', bytes: new Uint8Array(idsOf(seed).buffer) },
    { name: 'head.weight', shape: [2, 4], dtype: 'F32', data: Float32Array.from({ length: 8 }, (_, i) => Math.cos(seed + i)) },
  ];
}

/** A model folder with one model.safetensors, or (sharded) two shards and an index, the ids in the second. */
function makeModel(name: string, seed: number, sharded = false): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const tensors = tensorsOf(seed);
  if (!sharded) {
    writeFileSync(path.join(dir, 'model.safetensors'), writeTypedSafetensors(tensors, {}));
    return dir;
  }
  const shards = [tensors.slice(0, 1), tensors.slice(1)];
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    for (const t of shard) weightMap[t.name] = file;
    writeFileSync(path.join(dir, file), writeTypedSafetensors(shard, {}));
  });
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}


/** position_ids of an output folder: its shard (from the index), dtype, shape and values. */
function idsInFolder(dir: string) {
  const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string>; metadata: { total_size: number } };
  const shard = index.weight_map.position_ids!;
  const t = readSafetensors(new Uint8Array(readFileSync(path.join(dir, shard))), shard).tensors.find((x) => x.name === 'position_ids')!;
  return { dtype: t.dtype, shape: t.shape, values: Array.from(new BigInt64Array(t.data.slice().buffer)), totalSize: index.metadata.total_size };
}

beforeAll(() => {
  makeModel('base', 7);
  makeModel('alpha', 1);
  makeModel('beta', 2);
  makeModel('sharded-base', 9, true);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('merge --out DIR copies integer tensors through', () => {
  it('from the base, into a sharded folder', async () => {
    const out = path.join(tmp, 'out-base');
    const r = await cli('merge', '--method', 'task_arithmetic', '--base', path.join(tmp, 'base'), '--device', 'cpu', '--out-shard-size', '70', '--out', out, path.join(tmp, 'alpha'), path.join(tmp, 'beta'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(idsInFolder(out)).toEqual({ dtype: 'I64', shape: [1, 4], values: Array.from(idsOf(7)), totalSize: 4 * 24 + 32 });
  });

  it('from the first model without a base', async () => {
    const out = path.join(tmp, 'out-first');
    const r = await cli('merge', '--method', 'linear', '--device', 'cpu', '--out', out, path.join(tmp, 'alpha'), path.join(tmp, 'beta'));
    expect(r.code).toBe(0);
    expect(idsInFolder(out).values).toEqual(Array.from(idsOf(1)));
  });

  it('from a sharded base, read from its headers only', async () => {
    expect(storedIntegerTensors(path.join(tmp, 'sharded-base')).map((t) => [t.name, t.dtype, t.dims, t.bytes.length])).toEqual([['position_ids', 'I64', [1, 4], 32]]);
    expect(storedIntegerTensors(path.join(tmp, 'base', 'model.safetensors'))).toHaveLength(1);
    const out = path.join(tmp, 'out-sharded');
    const r = await cli('merge', '--method', 'slerp', '--base', path.join(tmp, 'sharded-base'), '--device', 'cpu', '--out', out, path.join(tmp, 'alpha'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(idsInFolder(out).values).toEqual(Array.from(idsOf(9)));
  });
});
