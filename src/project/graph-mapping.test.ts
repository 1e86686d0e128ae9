import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOnnx } from '../formats/onnx-read';
import { SAMPLES, sampleBytes, shardedCheckpointFiles } from '../testing/samples';
import { randomFloats } from '../testing/seeded';
import { floatInitializers } from '../merge/layout';
import { graphValues, keptCheckpoint, mapToGraph, sourceTensors, type SourceCheckpoint } from './graph-mapping';
import { groupSafetensors, readSafetensorsCheckpoint } from './safetensors-checkpoints';

interface ManifestInitializer {
  name: string;
  param: string;
  transposed: boolean;
}
const manifest = JSON.parse(readFileSync(path.join(SAMPLES, 'manifest.json'), 'utf8')) as { initializers: ManifestInitializer[] };

function sharded(model: string): SourceCheckpoint {
  const files = shardedCheckpointFiles(model);
  const { groups, problems } = groupSafetensors(
    files.filter((f) => f.name.endsWith('.index.json')),
    files.filter((f) => f.name.endsWith('.safetensors')),
  );
  expect(problems).toEqual([]);
  expect(groups).toHaveLength(1);
  return readSafetensorsCheckpoint(groups[0]!);
}

describe('sharded BF16 safetensors onto the exported ONNX graph', () => {
  const graph = readOnnx(sampleBytes('base.onnx'), 'base.onnx');
  const checkpoints = ['expert-a', 'base', 'expert-b'].map(sharded);

  it('reads every shard of a checkpoint, named after its folder, in BF16', () => {
    expect(checkpoints.map((c) => [c.name, c.dtype, c.tensors.length])).toEqual([
      ['expert-a', 'BF16', 38],
      ['base', 'BF16', 38],
      ['expert-b', 'BF16', 38],
    ]);
  });

  it('maps torch names onto the initializers as the exporter recorded them: by name, else by value against the checkpoint the graph holds', () => {
    const mapping = mapToGraph(graph, checkpoints);
    expect(mapping.reference).toBe('base');
    expect(mapping.unmappedInitializers).toEqual([]);
    expect(mapping.unmappedTensors).toEqual([]);
    const truth = manifest.initializers.map((i) => ({ initializer: i.name, tensor: i.param, transposed: i.transposed }));
    expect(mapping.entries.map(({ initializer, tensor, transposed }) => ({ initializer, tensor, transposed }))).toEqual(truth);
    expect(mapping.entries.filter((e) => e.how === 'value')).toHaveLength(12); // the renamed onnx::MatMul_* weights
  });

  it('puts each checkpoint in the graph within BF16 rounding of its F32 export, and back under its own names', () => {
    const mapping = mapToGraph(graph, checkpoints);
    const expertA = readOnnx(sampleBytes('expert-a.onnx'), 'expert-a.onnx');
    const values = graphValues(mapping, checkpoints[0]!);
    for (const init of floatInitializers(expertA)) {
      const got = values.get(init.name)!;
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - init.floats![i]!)).toBeLessThanOrEqual(2 ** -8 * Math.abs(init.floats![i]!) + 1e-30);
    }
    const back = sourceTensors(mapping, keptCheckpoint(mapping, checkpoints[0]!), values);
    expect(back.map((t) => t.name)).toEqual(checkpoints[0]!.tensors.map((t) => t.name));
    for (const [i, t] of back.entries()) expect(Array.from(t.data)).toEqual(Array.from(checkpoints[0]!.tensors[i]!.data));
  });

  it('without the graph’s own checkpoint, renamed tensors stay unmapped and are listed', () => {
    const mapping = mapToGraph(graph, [checkpoints[0]!, checkpoints[2]!]);
    expect(mapping.reference).toBeNull();
    expect(mapping.unmappedInitializers).toHaveLength(12);
    expect(mapping.unmappedInitializers.every((n) => n.startsWith('onnx::MatMul_'))).toBe(true);
    expect(mapping.unmappedTensors).toHaveLength(12);
  });

  it('keeps the values of the unmapped tensors only, and puts the checkpoint back whole from them and the graph', () => {
    const mapping = mapToGraph(graph, [checkpoints[0]!, checkpoints[2]!]);
    const kept = keptCheckpoint(mapping, checkpoints[0]!);
    expect(kept.shapes).toEqual(checkpoints[0]!.tensors.map((t) => ({ name: t.name, dims: t.dims })));
    expect(kept.unmapped.map((t) => t.name)).toEqual(mapping.unmappedTensors);
    const back = sourceTensors(mapping, kept, graphValues(mapping, checkpoints[0]!));
    for (const [i, t] of back.entries()) {
      expect(t.name).toBe(checkpoints[0]!.tensors[i]!.name);
      expect(Array.from(t.data)).toEqual(Array.from(checkpoints[0]!.tensors[i]!.data));
    }
  });

  it('tells a square matrix from its transpose by value, on random (non-symmetric) data', () => {
    const square = randomFloats(25, 7);
    const transposed = new Float32Array(25);
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) transposed[c * 5 + r] = square[r * 5 + c]!;
    const model = { irVersion: 8, opsetVersion: 17, inputs: [], outputs: [], nodes: [], initializers: [{ name: 'onnx::MatMul_9', dataType: 1, dims: [5, 5], floats: transposed, byteLength: 100, external: false, externalData: null }] };
    const checkpoint: SourceCheckpoint = { name: 'c', dtype: 'F32', tensors: [{ name: 'q.weight', dims: [5, 5], data: square }] };
    expect(mapToGraph(model, [checkpoint]).entries).toEqual([{ initializer: 'onnx::MatMul_9', tensor: 'q.weight', transposed: true, how: 'value' }]);
  });

  it('a shard missing from the drop is named with its index, and nothing else is grouped from it', () => {
    const files = shardedCheckpointFiles('expert-c');
    const { groups, problems } = groupSafetensors(
      files.filter((f) => f.name.endsWith('.index.json')),
      files.filter((f) => f.name.endsWith('00001-of-00002.safetensors')),
    );
    expect(groups).toEqual([]);
    expect(problems).toEqual([{ fileName: 'expert-c/model.safetensors.index.json', message: expect.stringMatching(/names shard model-00002-of-00002\.safetensors, not in this drop/) }]);
  });
});
