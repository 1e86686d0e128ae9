// Real ONNX exports: the torch fixtures under fixtures/ and the sample checkpoints in public/samples,
// read, compared and rewritten to weight-fed graphs that must give the same logits in ORT.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { ONNX_FLOAT } from './onnx-schema';
import { architectureSignature, describeArchitectureDifference } from './onnx-compare';
import { readOnnx, sniffOnnx, type OnnxModel } from './onnx-read';
import { weightsToInputs } from './onnx-rewrite';
import { mulberry32 } from '../testing/seeded';
import { runModel } from './fixtures/onnx-builder';

// ---------------------------------------------------------------- real exports

/** Files exported by torch.onnx.export, checked in under fixtures/ (see fixtures.json). */
const FIXTURES = join(__dirname, 'fixtures');
const fixtureManifest = join(FIXTURES, 'fixtures.json');

interface OnnxFixture {
  file: string;
  format: string;
  reason: string;
  assert: {
    irVersion?: number;
    opsetVersion?: number;
    inputs?: string[];
    outputs?: string[];
    floatInitializers?: number;
    matmulInitializers?: number;
    externalInitializers?: number;
    /** name → [first value, sum of values] of a float initializer, read by the onnx package */
    values?: Record<string, [number, number]>;
    nodes?: number;
    /** One input row and the logits torch computed for it. */
    run?: { input_ids: number[]; attention_mask: number[]; logits: number[] };
  };
}

describe.skipIf(!existsSync(fixtureManifest))('fixtures exported by torch', () => {
  const manifest = existsSync(fixtureManifest) ? (JSON.parse(readFileSync(fixtureManifest, 'utf8')) as OnnxFixture[]) : [];
  const load = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, file)));
  const rowFeeds = (run: NonNullable<OnnxFixture['assert']['run']>): Record<string, ort.Tensor> => ({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(run.input_ids.map(BigInt)), [1, run.input_ids.length]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(run.attention_mask.map(BigInt)), [1, run.attention_mask.length]),
  });

  for (const fx of manifest.filter((f) => f.format === 'onnx')) {
    it(`${fx.file}: ${fx.reason}`, () => {
      const m = readOnnx(load(fx.file), fx.file);
      const a = fx.assert;
      if (a.nodes !== undefined) expect(m.nodes).toHaveLength(a.nodes);
      if (a.irVersion !== undefined) expect(m.irVersion).toBe(a.irVersion);
      if (a.opsetVersion !== undefined) expect(m.opsetVersion).toBe(a.opsetVersion);
      if (a.inputs) expect(m.inputs.map((v) => v.name)).toEqual(a.inputs);
      if (a.outputs) expect(m.outputs.map((v) => v.name)).toEqual(a.outputs);
      if (a.floatInitializers !== undefined) expect(m.initializers.filter((t) => t.floats).length).toBe(a.floatInitializers);
      if (a.matmulInitializers !== undefined) {
        expect(m.initializers.filter((t) => t.name.startsWith('onnx::MatMul_')).length).toBe(a.matmulInitializers);
      }
      if (a.externalInitializers !== undefined) expect(m.initializers.filter((t) => t.external).length).toBe(a.externalInitializers);
      for (const [name, [first, sum]] of Object.entries(a.values ?? {})) {
        const t = m.initializers.find((i) => i.name === name)!;
        expect(t.floats![0]).toBeCloseTo(first, 6);
        expect(t.floats!.reduce((s, v) => s + v, 0)).toBeCloseTo(sum, 3);
      }
    });
  }

  const embedded = manifest.find((f) => f.file === 'tiny-classifier.onnx');
  it.skipIf(!embedded)('torch logits match ORT on the original, the weight-fed and the external-data model', async () => {
    const run = embedded!.assert.run!;
    const bytes = load('tiny-classifier.onnx');
    const model = readOnnx(bytes, 'tiny-classifier.onnx');
    const original = (await runModel(bytes, rowFeeds(run))).logits!;
    Array.from(original.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(run.logits[i]!, 5));

    const floats = model.initializers.filter((t) => t.floats);
    const weightFeeds = Object.fromEntries(floats.map((t) => [t.name, new ort.Tensor('float32', t.floats!, t.dims)]));
    const moved = weightsToInputs(bytes, new Set(floats.map((t) => t.name)), 'tiny-classifier.onnx');
    const fed = (await runModel(moved, { ...rowFeeds(run), ...weightFeeds })).logits!;
    expect(fed.data).toEqual(original.data);

    // External weights need no .data file once they are graph inputs fed from elsewhere.
    const external = load('tiny-external.onnx');
    const ext = readOnnx(external, 'tiny-external.onnx');
    expect(architectureSignature(ext)).toBe(architectureSignature(model));
    const movedExternal = weightsToInputs(external, new Set(ext.initializers.filter((t) => t.dataType === ONNX_FLOAT).map((t) => t.name)));
    const fedExternal = (await runModel(movedExternal, { ...rowFeeds(run), ...weightFeeds })).logits!;
    expect(fedExternal.data).toEqual(original.data);
  });
});

// Real checkpoints exported by tools/fixtures into public/samples (generated separately).
const SAMPLES = join(__dirname, '..', '..', 'public', 'samples');
const sampleFiles = existsSync(SAMPLES) ? readdirSync(SAMPLES).filter((f) => f.endsWith('.onnx')).sort() : [];

describe.skipIf(sampleFiles.length === 0)('sample checkpoints in public/samples', () => {
  const samples = sampleFiles.map((fileName) => {
    const bytes = new Uint8Array(readFileSync(join(SAMPLES, fileName)));
    return { fileName, bytes, model: readOnnx(bytes, fileName) };
  });

  it('all read, share one architecture and hold onnx::MatMul_* weights', () => {
    const first = samples[0]!;
    const matmuls = first.model.initializers.filter((t) => t.name.startsWith('onnx::MatMul_')).length;
    expect(matmuls).toBeGreaterThan(0);
    for (const s of samples) {
      expect(s.model.initializers.filter((t) => t.floats).length).toBeGreaterThan(0);
      expect(s.model.initializers.filter((t) => t.name.startsWith('onnx::MatMul_')).length).toBe(matmuls);
      expect(architectureSignature(s.model)).toBe(architectureSignature(first.model));
      expect(describeArchitectureDifference(first, s)).toBeNull();
    }
    expect(sniffOnnx(first.bytes.subarray(0, 65536))).toBe(true);
  });

  it('weightsToInputs for all float initializers gives the same logits in onnxruntime-web', async () => {
    const s = samples[samples.length - 1]!;
    const floats = s.model.initializers.filter((t) => t.floats);
    const moved = weightsToInputs(s.bytes, new Set(floats.map((t) => t.name)), s.fileName);
    expect(readOnnx(moved, 'moved.onnx').initializers.filter((t) => t.floats)).toEqual([]);
    const r = mulberry32(3);
    const ids = BigInt64Array.from({ length: 64 }, () => BigInt(1 + Math.floor(r() * 40)));
    const mask = BigInt64Array.from({ length: 64 }, (_, i) => (i < 50 ? 1n : 0n));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [1, 64]),
      attention_mask: new ort.Tensor('int64', mask, [1, 64]),
    };
    const original = (await runModel(s.bytes, feeds)).logits!;
    const withWeights = (model: OnnxModel) => {
      const out = { ...feeds };
      for (const t of model.initializers) if (t.floats) out[t.name] = new ort.Tensor('float32', t.floats, t.dims);
      return out;
    };
    const fed = (await runModel(moved, withWeights(s.model))).logits!;
    expect(fed.dims).toEqual(original.dims);
    expect(Array.from(fed.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(fed.data).toEqual(original.data);

    // One transformed graph serves every checkpoint: fed another sample's weights, it
    // reproduces that sample's own logits.
    if (samples.length > 1) {
      const other = samples[0]!;
      const otherLogits = (await runModel(other.bytes, feeds)).logits!;
      expect(otherLogits.data).not.toEqual(original.data);
      expect((await runModel(moved, withWeights(other.model))).logits!.data).toEqual(otherLogits.data);
    }
  });
});
