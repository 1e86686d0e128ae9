/**
 * The studio's merge to file from dropped Blobs (a sharded checkpoint among them) against
 * the CLI's in-memory merge of the same files: the same bytes, into Blob parts and into a
 * File System Access-like writable; the planned size is the file's; problems are named.
 */
import { describe, expect, it } from 'vitest';
import { writeTypedSafetensors, type TypedTensor } from '../export/result-export';
import { readTensorCheckpoint, readTensorCheckpointFiles, tensorPositions } from '../project/tensor-sets';
import { layoutOfTensors, flattenTensors } from '../merge/layout';
import { CpuMerger } from '../merge/cpu-merger';
import { baseAsModel } from '../merge/base-as-model';
import { methodFor, withMethod } from '../merge/registry';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { mergedSafetensors } from '../../cli/checkpoints';
import { blobPartsSink, openBlobCheckpoints, streamFilePlan, streamFileProblem, streamMergeMetadata, streamMergeToSink, writableSink } from './stream-merge';

const wave = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.11) * 0.1 + (seed === 0 ? 0 : Math.cos(i * 0.7 + seed) * 0.02));

function tensorsOf(seed: number): TypedTensor[] {
  return [
    { name: 'embed.weight', shape: [32, 8], dtype: 'BF16', data: wave(256, seed) },
    { name: 'layers.0.q.weight', shape: [8, 8], dtype: 'BF16', data: wave(64, seed + 10) },
    { name: 'position_ids', shape: [1, 3], dtype: 'I64', bytes: new Uint8Array(BigInt64Array.from([0n, 1n, BigInt(seed)]).buffer) },
    { name: 'head.weight', shape: [2, 8], dtype: 'BF16', data: wave(16, seed + 20) },
  ];
}

const blob = (bytes: Uint8Array) => new Blob([bytes.slice().buffer as ArrayBuffer]);

/** A single-file checkpoint, or a folder drop of two shards and their index. */
function dropped(name: string, seed: number, sharded: boolean) {
  const tensors = tensorsOf(seed);
  if (!sharded) return [{ name: `${name}.safetensors`, bytes: writeTypedSafetensors(tensors, { format: 'pt' }) }];
  const halves = [tensors.slice(0, 2), tensors.slice(2)];
  const map: Record<string, string> = {};
  const files = halves.map((h, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    for (const t of h) map[t.name] = file;
    return { name: `${name}/${file}`, bytes: writeTypedSafetensors(h, {}) };
  });
  return [...files, { name: `${name}/model.safetensors.index.json`, bytes: new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: map })) }];
}

const DROPS = [dropped('expert-a', 1, false), dropped('expert-b', 2, true), dropped('expert-c', 3, false), dropped('base', 0, false)];

async function opened() {
  const all = await openBlobCheckpoints(DROPS.flat().map((f) => ({ name: f.name, blob: blob(f.bytes) })));
  const byName = new Map(all.map((c) => [c.source.name, c]));
  return { models: ['expert-a', 'expert-b', 'expert-c'].map((n) => byName.get(n)!), base: byName.get('base')! };
}

/** The CLI's in-memory merge of the same files, with the same metadata. */
function inMemory(params: MergeParams): Uint8Array {
  const [models, base] = [DROPS.slice(0, 3).map((d) => (d.length === 1 ? readTensorCheckpoint(d[0]!) : readTensorCheckpointFiles(d))), readTensorCheckpoint(DROPS[3]![0]!)];
  const method = methodFor(params.method);
  const layout = layoutOfTensors([...models, base].map((m) => m.tensors), tensorPositions(models[0]!));
  const inputs = baseAsModel(models, base, method, params);
  const merged = new Float32Array(layout.totalSize);
  new CpuMerger(layout, inputs.params, inputs.base ? flattenTensors(inputs.base.tensors, layout) : null).mergeInto(merged, inputs.models.map((m) => flattenTensors(m.tensors, layout)));
  return mergedSafetensors({ models, base, layout }, merged, streamMergeMetadata(params, ['expert-a', 'expert-b', 'expert-c'], 'base'), null);
}

describe('merge to file from dropped Blobs', () => {
  for (const method of ['ties', 'task_arithmetic', 'linear']) {
    it(`${method}: the in-memory merge's bytes, in Blob parts and through a writable`, async () => {
      const params = { ...withMethod(DEFAULT_MERGE, method), ...(method === 'ties' ? { density: 0.5 } : {}) } as MergeParams;
      const { models, base } = await opened();
      const expected = inMemory(params);
      const sink = blobPartsSink();
      const seen: number[] = [];
      const summary = await streamMergeToSink({ models, base, params, dtype: null, chunkBytes: 512, onProgress: (p) => seen.push(p.done) }, sink);
      expect(summary.merged).toBe(3);
      expect(seen).toEqual([1, 2, 3]);
      expect(new Uint8Array(await sink.blob().arrayBuffer())).toEqual(expected);
      expect(streamFilePlan({ models, base, params, dtype: null }).bytes).toBe(expected.length);
      const chunks: Uint8Array[] = [];
      let closed = false;
      const writable = { write: async (d: BufferSource) => void chunks.push(new Uint8Array((d as Uint8Array).slice())), close: async () => void (closed = true) };
      await streamMergeToSink({ models, base, params, dtype: null }, writableSink(writable));
      expect(closed).toBe(true);
      expect(Uint8Array.from(chunks.flatMap((c) => [...c]))).toEqual(expected);
    });
  }

  it('names the problems: a missing base, data-aware methods, a missing shard', async () => {
    const { models } = await opened();
    expect(streamFileProblem({ models, base: null, params: withMethod(DEFAULT_MERGE, 'ties') })).toMatch(/base/);
    expect(streamFileProblem({ models, base: null, params: withMethod(DEFAULT_MERGE, 'regmean') })).toMatch(/needs dev data/);
    const partial = DROPS[1]!.filter((f) => !f.name.includes('/model-00002-')).map((f) => ({ name: f.name, blob: blob(f.bytes) }));
    await expect(openBlobCheckpoints(partial)).rejects.toThrow(/expert-b\/model\.safetensors\.index\.json: names shard model-00002-of-00002\.safetensors, not in this drop/);
  });
});
