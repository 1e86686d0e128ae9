/**
 * The streamed merge against the in-memory one, for every weight-only method in the
 * registry: random checkpoints (BF16, F16 and F32 tensors, one unchanged everywhere, a
 * scalar, an I64 tensor), merged both ways, must give the same file bit for bit — whole
 * tensors and, with a budget lowered below the largest tensor, row bands.
 */
import { describe, expect, it } from 'vitest';
import { writeTypedSafetensors, type TypedTensor } from '../export/result-export';
import { openSafetensorsFile, type ByteReader } from '../formats/safetensors-source';
import { SafetensorsStreamWriter, type StreamEntry } from '../formats/safetensors-stream-write';
import type { SafetensorsDtype } from '../formats/safetensors-format';
import { readTensorCheckpoint, tensorPositions, type TensorCheckpoint } from '../project/tensor-sets';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { mergedSafetensors } from '../../cli/checkpoints';
import { baseAsModel } from './base-as-model';
import { CpuMerger } from './cpu-merger';
import { flattenTensors, layoutOfTensors } from './layout';
import { methodProblem } from './params';
import { MERGE_METHODS, withMethod } from './registry';
import { ELEMENTWISE_METHODS } from './stream-chunks';
import { runMergeJob, streamMerge, type StreamDtype, type TensorMergePool } from './stream-merge';
import type { MergeMethodDef } from './method';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

const SHAPES: { name: string; shape: number[]; dtype: 'BF16' | 'F16' | 'F32'; frozen?: boolean }[] = [
  { name: 'embed.weight', shape: [64, 16], dtype: 'BF16' },
  { name: 'layers.0.norm.weight', shape: [16], dtype: 'BF16', frozen: true },
  { name: 'layers.0.attn.q.weight', shape: [16, 16], dtype: 'F32' },
  { name: 'layers.1.ff.weight', shape: [24, 16], dtype: 'F16' },
  { name: 'logit_scale', shape: [], dtype: 'F32' },
  { name: 'head.weight', shape: [3, 16], dtype: 'BF16' },
];

/** A checkpoint: the base's values plus noise of this seed (frozen tensors the same everywhere). */
function checkpoint(seed: number | null): Uint8Array {
  const base = rng(1);
  const noise = rng(seed ?? 0);
  const tensors: TypedTensor[] = SHAPES.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => base() + (seed === null || s.frozen ? 0 : 0.1 * noise()));
    return { name: s.name, shape: s.shape, dtype: s.dtype, data };
  });
  tensors.splice(2, 0, { name: 'position_ids', shape: [1, 4], dtype: 'I64', bytes: new Uint8Array(BigInt64Array.from([0n, 1n, 2n, BigInt(seed ?? 9)]).buffer) });
  return writeTypedSafetensors(tensors, { format: 'pt' });
}

const memoryReader = (bytes: Uint8Array): ByteReader => ({ size: bytes.length, read: async (a, b) => bytes.slice(a, b) });

const METADATA = { format: 'pt', merger: 'test' };
const WRITABLE = new Set(['F64', 'F32', 'F16', 'BF16']);

/** The CLI's in-memory merge (checkpoints.ts loadModels, methodInputs, populationOf, mergedSafetensors) on the CPU. */
function inMemory(models: TensorCheckpoint[], base: TensorCheckpoint | null, method: MergeMethodDef, params: MergeParams, dtype: StreamDtype | null): Uint8Array {
  const sets = (base ? [...models, base] : models).map((m) => m.tensors);
  const layout = layoutOfTensors(sets, tensorPositions(models[0]!));
  const inputs = baseAsModel(models, base, method, params);
  const flats = inputs.models.map((m) => flattenTensors(m.tensors, layout));
  const merged = new Float32Array(layout.totalSize);
  new CpuMerger(layout, inputs.params, inputs.base ? flattenTensors(inputs.base.tensors, layout) : null).mergeInto(merged, flats);
  return mergedSafetensors({ models, base, layout }, merged, METADATA, dtype as 'F32' | 'F16' | 'BF16' | null);
}

async function streamed(files: Uint8Array[], withBase: boolean, method: MergeMethodDef, params: MergeParams, dtype: StreamDtype | null, chunkBytes?: number, pool?: TensorMergePool) {
  const sources = await Promise.all(files.map((f, i) => openSafetensorsFile(memoryReader(f), `m${i}.safetensors`)));
  const models = withBase ? sources.slice(0, -1) : sources;
  const base = withBase ? sources[sources.length - 1]! : null;
  const first = models[0]!;
  const keep = base ?? first;
  const outDtype = (name: string) => (dtype ?? (WRITABLE.has(first.entry(name)!.dtype) ? first.entry(name)!.dtype : 'F32')) as StreamDtype;
  const floats = first.tensors.filter((t) => t.dtype !== 'I64');
  const raw = keep.tensors.filter((t) => t.dtype === 'I64');
  const entries: StreamEntry[] = [...floats.map((t) => ({ name: t.name, dtype: outDtype(t.name) as SafetensorsDtype, shape: t.shape })), ...raw];
  const parts: Uint8Array[] = [];
  const writer = new SafetensorsStreamWriter([{ entries, open: () => ({ write: (b) => void parts.push(b.slice()), close: () => undefined }) }], METADATA);
  const summary = await streamMerge({ models, base, method, params, outDtype, write: (n, b) => writer.append(n, b), chunkBytes, pool });
  for (const t of raw) await writer.append(t.name, await keep.readBytes(t.name));
  await writer.finish();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { bytes: out, summary };
}

/** Models and base for a method: as many models as it needs, a base where it takes one. */
function casesOf(method: MergeMethodDef): { count: number; withBase: boolean }[] {
  const count = method.needs.models ?? 3;
  if (method.needs.base) return [{ count, withBase: true }];
  if (method.baseAsModel === 'first') return [{ count, withBase: false }, { count: count - 1, withBase: true }];
  return [{ count, withBase: false }, { count, withBase: true }];
}

function paramsOf(method: MergeMethodDef): MergeParams {
  const params = withMethod({ ...DEFAULT_MERGE }, method.id) as MergeParams & Record<string, unknown>;
  const density = method.params.find((p) => p.key === 'density');
  if (density) {
    params.density = 0.6;
    // A per-tensor rule, so each tensor's depth matters.
    if (density.perTensor) params.rules = { density: [0.4, 0.8] };
  }
  return params;
}

const WEIGHT_ONLY = MERGE_METHODS.filter((m) => !m.needs.devData);

describe('streamed merge = in-memory merge, bit for bit', () => {
  for (const method of WEIGHT_ONLY) {
    for (const { count, withBase } of casesOf(method)) {
      it(`${method.id}, ${count} models${withBase ? ' and a base' : ''}`, async () => {
        const files = [...Array.from({ length: count }, (_, i) => checkpoint(10 + i)), ...(withBase ? [checkpoint(null)] : [])];
        const checkpoints = files.map((bytes, i) => readTensorCheckpoint({ name: `m${i}.safetensors`, bytes }));
        const models = withBase ? checkpoints.slice(0, -1) : checkpoints;
        const base = withBase ? checkpoints[checkpoints.length - 1]! : null;
        const params = paramsOf(method);
        const inputs = baseAsModel(models, base, method, params);
        expect(methodProblem(inputs.params, inputs.models.length, inputs.base !== null)).toBeNull();
        for (const dtype of [null, 'BF16'] as const) {
          const expected = inMemory(models, base, method, params, dtype);
          const whole = await streamed(files, withBase, method, params, dtype);
          expect(whole.summary.merged).toBe(SHAPES.length - 1); // the frozen tensor is copied
          expect(Buffer.from(whole.bytes).equals(Buffer.from(expected))).toBe(true);
          // A budget below the embedding's size: elementwise methods merge it in bands.
          const banded = await streamed(files, withBase, method, params, dtype, 2048);
          expect(banded.summary.chunked > 0).toBe(ELEMENTWISE_METHODS.has(method.id));
          expect(Buffer.from(banded.bytes).equals(Buffer.from(expected))).toBe(true);
          // A pool whose jobs finish out of order (later ones first): written in order all the same.
          let n = 0;
          const pool: TensorMergePool = { size: 3, merge: (job) => new Promise((done) => setTimeout(() => done(runMergeJob(job)), 12 - 4 * (n++ % 3))) };
          const pooled = await streamed(files, withBase, method, params, dtype, undefined, pool);
          // Linear and task arithmetic merge the BF16 tensors on this thread (stream-bf16.ts), the rest in the pool.
          const bf16Path = ['linear', 'task_arithmetic'].includes(method.id) ? SHAPES.filter((t) => t.dtype === 'BF16' && !t.frozen && t.shape.length > 0).length : 0;
          expect(n).toBe(SHAPES.length - 1 - bf16Path);
          expect(Buffer.from(pooled.bytes).equals(Buffer.from(expected))).toBe(true);
        }
      });
    }
  }

  it('refuses the data-aware methods, which need dev data', async () => {
    const files = [checkpoint(1), checkpoint(2)];
    const regmean = MERGE_METHODS.find((m) => m.needs.devData)!;
    await expect(streamed(files, false, regmean, withMethod(DEFAULT_MERGE, regmean.id), null)).rejects.toThrow(/dev data/);
  });
});
