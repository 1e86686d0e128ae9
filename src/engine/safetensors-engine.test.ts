/**
 * Sharded BF16 safetensors checkpoints with one ONNX graph, through the engine in Node
 * (WASM path): load and map, evolve, and read every export format back — safetensors
 * strictly (sharded, BF16, torch's names), the ONNX model by onnxruntime-web, the recipe
 * by running it again, and the zip and model card by opening them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { encodeDataset, parseJsonl } from '../eval/dataset';
import { scoreWeights } from '../eval/score-checkpoint';
import { loadTokenizer } from '../eval/tokenize';
import { hasSamples, SAMPLES, sampleBytes, sampleFiles, sampleManifest, shardedCheckpointFiles } from '../testing/samples';
import { MergeEngine } from './engine';
import { parseRecipe } from '../export/recipe';
import { DEFAULT_SETTINGS, type EvolverSettings } from '../protocol/settings';
import { type NamedBytes } from '../protocol/files';
import { Workspace } from '../project/workspace';

const manifest = sampleManifest();
const truth = (JSON.parse(readFileSync(path.join(SAMPLES, 'manifest.json'), 'utf8')) as { initializers: { name: string; param: string; transposed: boolean }[] }).initializers;

/** base.onnx as the graph, four sharded BF16 checkpoints in folders, dev, held-out, tokenizer and the manifest. */
function shardedDrop(): NamedBytes[] {
  const data = sampleFiles().filter((f) => !f.name.endsWith('.onnx'));
  return [...data, { name: 'base.onnx', bytes: sampleBytes('base.onnx') }, ...['expert-a', 'expert-b', 'expert-c', 'base'].flatMap(shardedCheckpointFiles)];
}

function devDataset() {
  const tokenizer = loadTokenizer(new TextDecoder().decode(sampleBytes(manifest.tokenizer)), manifest.tokenizer);
  const rows = parseJsonl(new TextDecoder().decode(sampleBytes(manifest.dev)), manifest.dev);
  return encodeDataset(rows, { fileName: manifest.dev, tokenizer, sequenceLength: 64, padId: tokenizer.padId ?? 0, labelCount: 2, labels: manifest.labels });
}

/** Torch-named tensors into the graph's initializers, by the exporter's own record (manifest.json). */
function asGraphWeights(tensors: Map<string, { dims: number[]; data: Float32Array }>) {
  return truth.map(({ name, param, transposed }) => {
    const t = tensors.get(param)!;
    if (!transposed) return { name, data: t.data };
    const [rows, cols] = t.dims as [number, number];
    const out = new Float32Array(t.data.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
    return { name, data: out };
  });
}

const SETTINGS: EvolverSettings = { ...DEFAULT_SETTINGS, generations: 1, seed: 4 };

describe.skipIf(!hasSamples)('sharded BF16 safetensors with an ONNX graph', () => {
  it('loads onto the graph, evolves, and every export reads back', async () => {
    const engine = new MergeEngine();
    await engine.init('wasm');
    const report = await engine.addFiles(shardedDrop());
    expect(report.problems).toEqual([]);
    expect(report.checkpoints.map((c) => [c.name, c.format, c.dtype, c.isBase, c.files.length])).toEqual([
      ['expert-a', 'safetensors', 'BF16', false, 3],
      ['expert-b', 'safetensors', 'BF16', false, 3],
      ['expert-c', 'safetensors', 'BF16', false, 3],
      ['base', 'safetensors', 'BF16', true, 3], // base.onnx was the manifest's base; its weights are the "base" folder's
    ]);
    expect(report.graph).toMatchObject({ file: 'base.onnx', reference: 'base', unmappedInitializers: [], unmappedTensors: [] });
    expect(report.graph!.mapped.filter((m) => m.how === 'value' && m.transposed)).toHaveLength(12);
    expect(report.architecture!.mergedParameters).toBe(233_186);

    const result = await engine.run(SETTINGS, () => {});
    expect(result.final.dev.metrics.accuracy).toBeGreaterThan(0.9);
    const dataset = devDataset();

    // F32 under torch's names: exactly the scored weights.
    const f32 = readSafetensors((await engine.exportFile({ kind: 'safetensors', dtype: 'F32', shardBytes: 0, names: 'source' })).bytes, 'f32');
    const f32Tensors = new Map(f32.tensors.map((t) => [t.name, { dims: t.shape, data: tensorToFloat32(t) }]));
    expect([...f32Tensors.keys()].sort()).toEqual(truth.map((t) => t.param).sort());
    const rescored = await scoreWeights(sampleBytes('base.onnx'), 'base.onnx', asGraphWeights(f32Tensors), dataset);
    expect(rescored.metrics.accuracy).toBe(result.final.dev.metrics.accuracy);

    // Sharded BF16: a zip of shards and the index; every tensor within BF16 rounding of F32.
    const sharded = await engine.exportFile({ kind: 'safetensors', dtype: 'BF16', shardBytes: 200_000, names: 'source' });
    expect(sharded.fileName).toBe('evolved-seed4-sharded.zip');
    const shardFiles = unzipSync(sharded.bytes);
    const index = JSON.parse(new TextDecoder().decode(shardFiles['model.safetensors.index.json'])) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    const shardNames = [...new Set(Object.values(index.weight_map))].sort();
    // tok.weight (384 KB in BF16) is over the limit: a shard of its own; the other 37 fit in one.
    expect(shardNames).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(Object.entries(index.weight_map).filter(([, s]) => s === index.weight_map['tok.weight']).map(([t]) => t)).toEqual(['tok.weight']);
    expect(index.metadata.total_size).toBe(233_186 * 2);
    for (const shard of shardNames) {
      const file = readSafetensors(shardFiles[shard]!, shard);
      for (const t of file.tensors) {
        expect(t.dtype).toBe('BF16');
        expect(index.weight_map[t.name]).toBe(shard);
        const reference = f32Tensors.get(t.name)!.data;
        const values = tensorToFloat32(t);
        for (let i = 0; i < values.length; i++) expect(Math.abs(values[i]! - reference[i]!)).toBeLessThanOrEqual(2 ** -8 * Math.abs(reference[i]!));
      }
    }

    // The merged ONNX model runs as it is.
    const onnx = await engine.exportFile({ kind: 'onnx', dtype: 'F32', shardBytes: 0, names: 'source' });
    expect(onnx.fileName).toBe('evolved-seed4.onnx');
    expect((await scoreWeights(onnx.bytes, onnx.fileName, [], dataset)).metrics.accuracy).toBe(result.final.dev.metrics.accuracy);

    // The recipe re-runs to the same model.
    const recipeFile = await engine.exportFile({ kind: 'recipe', dtype: 'F32', shardBytes: 0, names: 'source' });
    const recipe = parseRecipe(JSON.parse(new TextDecoder().decode(recipeFile.bytes)), recipeFile.fileName);
    expect(recipe).toMatchObject({ base: 'base', sources: ['expert-a', 'expert-b', 'expert-c'] });
    const again = new MergeEngine();
    await again.init('wasm');
    await again.addFiles(shardedDrop());
    const rerun = await again.run(recipe.settings, () => {});
    expect(rerun.history).toEqual(result.history);
    const againBytes = (await again.exportFile({ kind: 'safetensors', dtype: 'F32', shardBytes: 0, names: 'source' })).bytes;
    expect(Buffer.from(againBytes).equals(Buffer.from((await engine.exportFile({ kind: 'safetensors', dtype: 'F32', shardBytes: 0, names: 'source' })).bytes))).toBe(true);

    // Everything zipped, with a model card that names the sources, the seed and the scores.
    const zip = unzipSync((await engine.exportFile({ kind: 'zip', dtype: 'BF16', shardBytes: 0, names: 'source' })).bytes);
    expect(Object.keys(zip).sort()).toEqual(['README.md', 'evolved-seed4-bf16.safetensors', 'evolved-seed4.onnx', 'evolved-seed4.recipe.json']);
    const card = new TextDecoder().decode(zip['README.md']);
    // No Hub id was given: base_model is left out, and the text names the base's files.
    expect(card).not.toContain('base_model');
    expect(card).toContain('base (task vectors are taken from it): base');
    expect(card).toContain('- expert-a');
    expect(card).toContain(`(${(100 * result.final.dev.metrics.accuracy).toFixed(2)}%`.slice(1));
    expect(card).toMatch(/seed \(4\)/);
  }, 120_000);

  it('files handed over as Blobs (dropped Files) load the same: safetensors read tensor by tensor', async () => {
    const fromBytes = await new MergeEngine().addFiles(shardedDrop());
    const engine = new MergeEngine();
    const fromBlobs = await engine.addFiles(shardedDrop().map((f) => ({ name: f.name, blob: new Blob([f.bytes as BlobPart]) })));
    expect(fromBlobs.problems).toEqual([]);
    expect(fromBlobs.checkpoints).toEqual(fromBytes.checkpoints);
    expect(fromBlobs.graph).toEqual(fromBytes.graph);
    expect(fromBlobs.dataset).toEqual(fromBytes.dataset);
    const cut = shardedCheckpointFiles('expert-c').map((f) => ({ name: `cut-${f.name}`, blob: new Blob([(f.name.endsWith('00001-of-00002.safetensors') ? f.bytes.subarray(0, 1000) : f.bytes) as BlobPart]) }));
    const bad = await engine.addFiles(cut);
    expect(bad.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^cut-expert-c\/model-00001-of-00002\.safetensors: data section is \d+ bytes but tensors need/),
      expect.stringMatching(/^cut-expert-c\/model\.safetensors\.index\.json: names shard model-00001-of-00002\.safetensors/),
    ]);
    expect(bad.checkpoints).toEqual(fromBlobs.checkpoints); // nothing lost
  });

  it('explains what is missing: no graph, a shard left out', () => {
    const workspace = new Workspace();
    const alone = workspace.addFiles(shardedCheckpointFiles('expert-a'));
    expect(alone.problems).toEqual([{ fileName: 'expert-a/model.safetensors.index.json', message: expect.stringMatching(/drop one \.onnx export of this model with them/) }]);
    expect(alone.checkpoints).toEqual([]);
    const partial = workspace.addFiles([{ name: 'base.onnx', bytes: sampleBytes('base.onnx') }, ...shardedCheckpointFiles('expert-b').filter((f) => !f.name.includes('00002'))]);
    expect(partial.problems.map((p) => p.fileName)).toEqual(['expert-b/model.safetensors.index.json']);
    expect(partial.checkpoints.map((c) => c.name)).toEqual(['base.onnx']); // still a plain ONNX checkpoint, nothing lost
  });

  it('an ONNX model with external data loads with its data file, and without it says which file is missing', () => {
    const fixtures = path.resolve(import.meta.dirname, '../formats/fixtures');
    const read = (name: string) => new Uint8Array(readFileSync(path.join(fixtures, name)));
    const workspace = new Workspace();
    const missing = workspace.addFiles([{ name: 'tiny-external.onnx', bytes: read('tiny-external.onnx') }]);
    expect(missing.problems[0]!.message).toMatch(/^tiny-external\.onnx: keeps its weights in tiny-external\.onnx\.data, which is not in this drop/);
    const report = workspace.addFiles([
      { name: 'tiny-external.onnx', bytes: read('tiny-external.onnx') },
      { name: 'tiny-external.onnx.data', bytes: read('tiny-external.onnx.data') },
    ]);
    expect(report.problems).toEqual([]);
    expect(report.accepted.sort()).toEqual(['tiny-external.onnx', 'tiny-external.onnx.data']);
    expect(report.checkpoints[0]).toMatchObject({ name: 'tiny-external.onnx', files: ['tiny-external.onnx', 'tiny-external.onnx.data'] });
    const inline = new Workspace().addFiles([{ name: 'tiny-classifier.onnx', bytes: read('tiny-classifier.onnx') }]).checkpoints[0]!;
    expect(report.checkpoints[0]!.parameterCount).toBe(inline.parameterCount);
  });
});
