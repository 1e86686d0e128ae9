/**
 * Kinship and the search strategies end to end in Node on the real sample checkpoints:
 * the kinship matrix against a float64 reference (WASM and WebGPU paths), Top-k kinship
 * merging ending in an exportable model with its lineage, DE/rand/1 + jDE on a budget,
 * and selection on a dev subset re-scored on the whole dev split.
 */
import { describe, expect, it } from 'vitest';
import { MergeEngine } from './engine';
import { DEFAULT_MERGE } from '../protocol/settings';
import { DEFAULT_SETTINGS } from '../protocol/settings';
import { type NamedBytes } from '../protocol/files';
import { type ProgressEvent } from '../protocol/events';
import { floatInitializers, flattenParameters, mergedLayout } from '../merge/layout';
import { readOnnx } from '../formats/onnx-read';
import { readSafetensors } from '../formats/safetensors-read';
import { getNodeGpu } from '../gpu/node-gpu';
import type { KinshipReport } from '../protocol/results';
import { hasSamples, sampleFiles as readSampleFiles } from '../testing/samples';

const sampleFiles = (withBase: boolean) => readSampleFiles({ withBase });

/** Float64, two-pass (centred) Pearson, cosine and distance of task vectors straight from the ONNX files. */
function float64Kinship(files: NamedBytes[], baseName: string | null) {
  const models = files.filter((f) => f.name.endsWith('.onnx')).map((f) => ({ name: f.name, model: readOnnx(f.bytes, f.name) }));
  const experts = models.filter((m) => m.name !== baseName);
  const layout = mergedLayout(experts.map((m) => m.model));
  const flats = experts.map((m) => flattenParameters(m.model, layout));
  const base = baseName ? flattenParameters(models.find((m) => m.name === baseName)!.model, layout) : Float64Array.from(flats[0]!, (_, j) => flats.reduce((s, f) => s + f[j]!, 0) / flats.length);
  const deltas = flats.map((f) => Float64Array.from(f, (v, j) => v - base[j]!));
  const n = layout.totalSize;
  const metric = (a: Float64Array, b: Float64Array) => {
    const ma = a.reduce((s, v) => s + v, 0) / n;
    const mb = b.reduce((s, v) => s + v, 0) / n;
    let cov = 0, va = 0, vb = 0, dot = 0, aa = 0, bb = 0, dd = 0;
    for (let j = 0; j < n; j++) {
      cov += (a[j]! - ma) * (b[j]! - mb);
      va += (a[j]! - ma) ** 2;
      vb += (b[j]! - mb) ** 2;
      dot += a[j]! * b[j]!;
      aa += a[j]! ** 2;
      bb += b[j]! ** 2;
      dd += (a[j]! - b[j]!) ** 2;
    }
    return { pearson: cov / Math.sqrt(va * vb), cosine: dot / Math.sqrt(aa * bb), euclidean: Math.sqrt(dd) };
  };
  return { names: experts.map((m) => m.name), metric: (i: number, j: number) => metric(deltas[i]!, deltas[j]!) };
}

function expectMatches(report: KinshipReport, reference: ReturnType<typeof float64Kinship>) {
  expect(report.names).toEqual(reference.names);
  for (let i = 0; i < report.names.length; i++) {
    for (let j = 0; j < report.names.length; j++) {
      if (i === j) continue;
      const want = reference.metric(i, j);
      const got = report.overall[i]![j]!;
      for (const key of ['pearson', 'cosine', 'euclidean'] as const) expect(Math.abs(got[key] - want[key]) / Math.abs(want[key])).toBeLessThan(1e-5);
    }
  }
}

describe.skipIf(!hasSamples)('kinship and search strategies on the sample checkpoints', () => {
  it('the kinship matrix matches a float64 reference, from the base and from the mean, on WASM and WebGPU', async () => {
    const gpu = await getNodeGpu();
    for (const preference of ['wasm', 'webgpu'] as const) {
      if (preference === 'webgpu' && !gpu) continue;
      const engine = new MergeEngine(() => gpu);
      expect((await engine.init(preference)).path).toBe(preference);
      const withBase = sampleFiles(true);
      await engine.addFiles(withBase);
      const fromBase = await engine.kinship();
      expect(fromBase.reference.kind).toBe('base');
      expect(fromBase.reference.label).toContain('base.onnx');
      expectMatches(fromBase, float64Kinship(withBase, 'base.onnx'));
      expect(fromBase.layers.map((l) => l.name)).toEqual(['tok', 'pos', 'layers.0', 'layers.1', 'ln_f', 'head']);
      // Experts fine-tuned from one base on different mail are related but far from identical.
      expect(fromBase.overall[0]![1]!.pearson).toBeGreaterThan(0.05);
      expect(fromBase.overall[0]![1]!.pearson).toBeLessThan(0.99);

      // Without a base the task vectors are taken from the experts' mean, and the report says so.
      const noBase = new MergeEngine(() => gpu);
      await noBase.init(preference);
      const experts = sampleFiles(false);
      await noBase.addFiles(experts);
      const fromMean = await noBase.kinship();
      expect(fromMean.reference.kind).toBe('population-mean');
      expectMatches(fromMean, float64Kinship(experts, null));
    }
  });

  it('Top-k kinship merging ends in an exportable model at least as good on dev as the best checkpoint, with its lineage', async () => {
    const engine = new MergeEngine();
    await engine.init('wasm');
    await engine.addFiles(sampleFiles(false));
    const events: ProgressEvent[] = [];
    const result = await engine.run({ ...DEFAULT_SETTINGS, strategy: 'kinship_topk', topK: 2, generations: 3, merger: { ...DEFAULT_MERGE, method: 'slerp' } }, (e) => events.push(e));
    expect(result.strategy).toBe('kinship_topk');
    expect(result.lineage!.nodes.length).toBeGreaterThan(3);
    expect(result.final.name).toContain(result.lineage!.nodes[result.lineage!.result]!.name);
    expect(result.final.dev.metrics.accuracy).toBeGreaterThanOrEqual(Math.max(...result.individuals.map((m) => m.dev.metrics.accuracy)));
    expect(events.some((e) => e.type === 'kinship')).toBe(true);
    expect(result.kinship!.names.length).toBe(2);
    expect(result.history[0]!.kinship!.population).toBeGreaterThan(-1);
    expect(result.counters.sessionsCreatedDuringRun).toBe(0);
    const exported = await engine.exportSafetensors();
    expect(exported.fileName).toBe('topk-slerp.safetensors');
    const file = readSafetensors(exported.bytes, exported.fileName);
    const lineage = JSON.parse(file.metadata.lineage!) as { name: string; parents: string[] | null }[];
    expect(lineage.slice(0, 3).map((l) => l.name)).toEqual(['expert-a.onnx', 'expert-b.onnx', 'expert-c.onnx']);
    expect(JSON.parse(file.metadata.recipe!)).toMatchObject({ strategy: 'kinship_topk', topK: 2 });
    expect(file.tensors.length).toBe(floatInitializers(readOnnx(sampleFiles(false).find((f) => f.name === 'expert-a.onnx')!.bytes, 'a')).length);
  });

  it('DE/rand/1 with jDE keeps to its budget; a dev-subset run is re-scored on the whole dev split and reports agreement', async () => {
    const engine = new MergeEngine();
    await engine.init('wasm');
    await engine.addFiles(sampleFiles(false));
    const jde = await engine.run({ ...DEFAULT_SETTINGS, mutation: 'rand1', adaptive: true, generations: 20, budget: 10, seed: 3 }, () => {});
    expect(jde.stopReason).toBe('budget');
    expect(jde.counters.evaluations).toBeLessThanOrEqual(10);
    expect(jde.final.dev.metrics.accuracy).toBeGreaterThanOrEqual(jde.initialMerge.dev.metrics.accuracy);

    const subset = await engine.run({ ...DEFAULT_SETTINGS, generations: 1, subset: 120, seed: 4 }, () => {});
    expect(subset.subset).toMatchObject({ rows: 120, pairs: 10 });
    expect(subset.subset!.devRows).toBeGreaterThan(500);
    expect(subset.subset!.agreeingPairs).toBeGreaterThanOrEqual(0);
    expect(subset.subset!.agreeingPairs).toBeLessThanOrEqual(10);
    // The reported final dev score is on the whole dev split, not the subset.
    expect(subset.final.dev.size).toBe(subset.subset!.devRows);
  });
});
