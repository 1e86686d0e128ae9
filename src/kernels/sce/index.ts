/**
 * SCE on the GPU, twin of sce.cpu.ts. With select_topk in (0, 1) the keep count depends on
 * how many variances are non-zero, which the top-k select needs on the host: a first
 * submission reduces that count per tensor (16 bytes read back each); otherwise nothing is
 * read back. Then per tensor: the variance (again, no tensor-sized buffer per tensor is
 * kept), the exact top-k cut over it (magnitude-select.ts), each model's masked τ, its Σ τ̃²
 * (the shared reduction, staying on the GPU), the weights, the sign sum, the votes and the
 * finalize: one submission for the batch.
 */
import { createWeightBuffer, readFloats } from '../../gpu/buffers';
import type { EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { createReductionResults, createReductionScratch, encodeReduction, type ReductionScratch } from '../reduction/index';
import { createCutTable, encodeTopKMagnitude, type CutTable } from '../task-vector/magnitude-select';
import { encodeAccumulate } from '../task-vector/task-vector-passes';
import { encodeWhole } from '../task-vector/della';
import { SCE_UNIFORM_BYTES, sceFinalizeWgsl, sceMaskWgsl, sceNonzeroWgsl, sceShiftedSumWgsl, sceSquaresWgsl, sceVarianceWgsl, sceVoteWgsl, sceWeightsWgsl } from './sce.wgsl';

export { sceMerge, type SceParams } from './sce.cpu';

export interface SceScratch {
  masked: GPUBuffer[];
  sum: GPUBuffer;
  variance: GPUBuffer;
  num: GPUBuffer;
  den: GPUBuffer;
  weights: GPUBuffer;
  norms: GPUBuffer;
  table: CutTable;
  reduction: ReductionScratch;
  elementCount: number;
  destroy(): void;
}

export function createSceScratch(device: GPUDevice, elementCount: number, modelCount: number): SceScratch {
  const n = Math.max(1, elementCount);
  const masked = Array.from({ length: modelCount }, (_, i) => createWeightBuffer(device, n, `sce masked τ ${i}`));
  const [sum, variance, num, den] = ['Σ τ / sign sum', 'variance', 'agreeing Σ w τ', 'agreeing Σ w'].map((l) => createWeightBuffer(device, n, `sce ${l}`)) as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
  const weights = createWeightBuffer(device, modelCount, 'sce weights');
  const norms = createReductionResults(device, modelCount, 1, 'sce Σ τ̃²');
  const table = createCutTable(device, 1);
  const reduction = createReductionScratch(device, n, 1);
  return {
    masked,
    sum,
    variance,
    num,
    den,
    weights,
    norms,
    table,
    reduction,
    elementCount: n,
    destroy() {
      for (const b of [...masked, sum, variance, num, den, weights, norms]) b.destroy();
      table.destroy();
      reduction.destroy();
    },
  };
}

export interface SceGpuTensor {
  models: readonly GPUBuffer[];
  base: GPUBuffer;
  out: GPUBuffer;
  elementCount: number;
  selectTopk: number;
}

interface U {
  n: number;
  models?: number;
  inv?: number;
  first?: boolean;
  last?: boolean;
  slot?: number;
  mode?: number;
}
function pack(u: U): ArrayBuffer {
  const data = new ArrayBuffer(SCE_UNIFORM_BYTES);
  const u32 = new Uint32Array(data);
  u32.set([u.n, u.models ?? 0, 0, u.first ? 1 : 0, u.last ? 1 : 0, u.slot ?? 0, u.mode ?? 0, 0]);
  new Float32Array(data)[2] = u.inv ?? 0;
  return data;
}
const codes = new Map<string, string>();
const code = (name: string, make: () => string) => {
  let c = codes.get(name);
  if (!c) codes.set(name, (c = make()));
  return c;
};
const ro = 'read-only-storage' as const;
const rw = 'storage' as const;

function encodeVariance(device: GPUDevice, encoder: GPUCommandEncoder, t: SceGpuTensor, s: SceScratch, opts: EncodeOptions): void {
  const n = t.elementCount;
  const inv = Math.fround(1 / t.models.length);
  const m0 = t.models[0]!;
  // Shifted by model 0's task vector (sce.cpu.ts sceVariance): identical task vectors give 0 exactly.
  t.models.forEach((m, i) => encodeWhole(device, encoder, 'sce shifted sum', code('ssum', sceShiftedSumWgsl), [ro, ro, ro, rw], [m, m0, t.base, s.sum], n, pack({ n, first: i === 0 }), opts));
  t.models.forEach((m, i) =>
    encodeWhole(device, encoder, 'sce variance', code('var', sceVarianceWgsl), [ro, ro, ro, ro, rw], [m, m0, t.base, s.sum, s.variance], n, pack({ n, inv, first: i === 0, last: i === t.models.length - 1 }), opts),
  );
}

const selecting = (t: SceGpuTensor) => t.selectTopk > 0 && t.selectTopk < 1;

function check(t: SceGpuTensor, s: SceScratch): void {
  if (!Number.isFinite(t.selectTopk)) throw new KernelParamsError(`sce/index.ts: select_topk must be finite, got ${t.selectTopk}`);
  if (t.elementCount > s.elementCount || t.models.length > s.masked.length) throw new KernelParamsError(`sce/index.ts: the scratch serves ${s.elementCount} floats × ${s.masked.length} models`);
  if (t.models.includes(t.out) || t.out === t.base) throw new KernelParamsError('sce/index.ts: out must be a different buffer from every model and the base');
}

/** SCE over a batch of tensors; resolves once the merge is submitted. */
export async function sceGpu(device: GPUDevice, tensors: readonly SceGpuTensor[], s: SceScratch, opts: EncodeOptions = {}): Promise<void> {
  tensors.forEach((t) => check(t, s));
  const chosen = tensors.filter(selecting);
  const keep = new Map<SceGpuTensor, number>();
  if (chosen.length > 0) {
    const counts = createReductionResults(device, chosen.length, 1, 'sce non-zero variances');
    const encoder = device.createCommandEncoder({ label: 'sce variances' });
    chosen.forEach((t, r) => {
      encodeVariance(device, encoder, t, s, opts);
      encodeReduction(device, encoder, { name: 'sce non-zero', code: code('nz', sceNonzeroWgsl), lanes: 1 }, { inputs: [s.variance], elementCount: t.elementCount, results: counts, resultIndex: r, scratch: s.reduction }, opts);
    });
    device.queue.submit([encoder.finish()]);
    const raw = await readFloats(device, counts, chosen.length * 4);
    counts.destroy();
    chosen.forEach((t, r) => keep.set(t, Math.floor(raw[4 * r]! * t.selectTopk)));
  }
  const encoder = device.createCommandEncoder({ label: 'sce' });
  for (const t of tensors) {
    const n = t.elementCount;
    const k = keep.get(t);
    // mode 0: the cut over the variance; 1: keep all; 2: keep none.
    const mode = k === undefined ? (t.selectTopk >= 1 ? 1 : 2) : k === 0 ? 2 : 0;
    if (mode === 0) {
      encodeVariance(device, encoder, t, s, opts);
      encodeTopKMagnitude(device, encoder, s.variance, null, n, k!, s.table, 0, opts);
    }
    t.models.forEach((m, i) => {
      encodeWhole(device, encoder, 'sce mask', code('mask', sceMaskWgsl), [ro, ro, ro, ro, rw], [m, t.base, s.variance, s.table.cuts, s.masked[i]!], n, pack({ n, mode }), opts);
      encodeReduction(device, encoder, { name: 'sce squares', code: code('sq', sceSquaresWgsl), lanes: 1 }, { inputs: [s.masked[i]!], elementCount: n, results: s.norms, resultIndex: i, scratch: s.reduction }, opts);
    });
    const count = t.models.length;
    encodeWhole(device, encoder, 'sce weights', code('w', sceWeightsWgsl), [ro, rw], [s.norms, s.weights], 1, pack({ n: 1, models: count, inv: Math.fround(1 / count), slot: n }), opts);
    const masked = s.masked.slice(0, count);
    masked.forEach((m, i) => encodeAccumulate(device, encoder, 'plain', s.sum, m, null, null, n, { weight: 1, first: i === 0 }, opts));
    masked.forEach((m, i) =>
      encodeWhole(device, encoder, 'sce vote', code('vote', sceVoteWgsl), [ro, ro, ro, rw, rw], [s.sum, m, s.weights, s.num, s.den], n, pack({ n, first: i === 0, slot: i }), opts),
    );
    encodeWhole(device, encoder, 'sce finalize', code('fin', sceFinalizeWgsl), [rw, ro, ro, ro], [t.out, s.num, s.den, t.base], n, pack({ n }), opts);
  }
  device.queue.submit([encoder.finish()]);
}
