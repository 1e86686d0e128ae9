/**
 * DELLA on the GPU, twin of della.cpu.ts, recorded into the caller's encoder (no read-back):
 * per model, the magnitude ranks along axis 1 (a bitonic sort of each group, della.wgsl.ts),
 * the drawn mask into that model's masked-τ buffer, the L1 norms (the shared reduction, into
 * a results buffer that stays on the GPU) and the rescale; then the task-vector passes over
 * the masked τ's against a zero base (TIES at density 1 for della, task arithmetic for
 * della_linear), and out += base. The masks equal the CPU's bit for bit; the rescale differs
 * by the f32 tree sums' rounding (~1e-7 relative).
 */
import type { EncodeOptions } from '../../gpu/elementwise';
import { createWeightBuffer } from '../../gpu/buffers';
import { dispatch1d, getKernelPipeline, type KernelBinding } from '../../gpu/dispatch';
import { bufferId, getUniformRing } from '../../gpu/uniform-ring';
import { KernelParamsError } from '../errors';
import { createReductionResults, createReductionScratch, encodeReduction, type ReductionScratch } from '../reduction/index';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { encodeScaleAdd } from '../scale-add';
import { DELLA_RESCALE_EPS, dellaMasks, rankAxis, type DellaParams } from './della.cpu';
import { DELLA_UNIFORM_BYTES, dellaKeysWgsl, dellaMaskWgsl, dellaNormsWgsl, dellaScaleWgsl, dellaScatterWgsl, dellaStepWgsl } from './della.wgsl';
import { checkDareCounters, checkLambda, resolvePerModel, resolveWeights } from './params';
import { createMergeScratch, type MergeScratch } from './task-vector-passes';
import { encodeTaskArithmetic, encodeTies } from './index';

const nextPow2 = (x: number) => (x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x)));

/** Buffers a DELLA merge reuses for every tensor of up to elementCount floats and modelCount models. */
export interface DellaScratch {
  masked: GPUBuffer[];
  zero: GPUBuffer;
  rank: GPUBuffer;
  keyMag: GPUBuffer;
  keyIdx: GPUBuffer;
  norms: GPUBuffer;
  reduction: ReductionScratch;
  merge: MergeScratch;
  elementCount: number;
  sortKeys: number;
  destroy(): void;
}

/** Floats a whole-buffer binding may hold on every WebGPU device (the default maxStorageBufferBindingSize, 128 MiB). */
export const WHOLE_BINDING_FLOATS = (128 * 1024 * 1024) / 4;

/** Sort keys of one tensor: its groups, each padded to a power of two. */
export function dellaSortKeys(dims: readonly number[] | undefined, elementCount: number): number {
  const axis = rankAxis(dims, elementCount);
  return axis.groups * nextPow2(axis.length);
}

/** Whether a tensor fits DELLA's whole-buffer passes on any device. */
export const dellaFitsGpu = (dims: readonly number[] | undefined, elementCount: number): boolean =>
  elementCount <= WHOLE_BINDING_FLOATS && dellaSortKeys(dims, elementCount) <= WHOLE_BINDING_FLOATS;

/** sortKeys: the most sort keys of any tensor served (dellaSortKeys), default twice elementCount. */
export function createDellaScratch(device: GPUDevice, elementCount: number, modelCount: number, sortKeys = 2 * elementCount): DellaScratch {
  const n = Math.max(1, elementCount);
  const keys = Math.max(1, sortKeys);
  const masked = Array.from({ length: modelCount }, (_, i) => createWeightBuffer(device, n, `della masked τ ${i}`));
  // Never written: WebGPU buffers start zeroed.
  const zero = createWeightBuffer(device, n, 'della zero base');
  const rank = createWeightBuffer(device, n, 'della ranks');
  const keyMag = createWeightBuffer(device, keys, 'della sort keys (magnitude)');
  const keyIdx = createWeightBuffer(device, keys, 'della sort keys (index)');
  const norms = createReductionResults(device, modelCount, 1, 'della L1 norms');
  const reduction = createReductionScratch(device, n, 1);
  const merge = createMergeScratch(device, n, modelCount);
  return {
    masked,
    zero,
    rank,
    keyMag,
    keyIdx,
    norms,
    reduction,
    merge,
    elementCount: n,
    sortKeys: keys,
    destroy() {
      for (const b of [...masked, zero, rank, keyMag, keyIdx, norms]) b.destroy();
      reduction.destroy();
      merge.destroy();
    },
  };
}

interface Fields {
  total: number;
  pow2?: number;
  length?: number;
  stride?: number;
  kk?: number;
  jj?: number;
  key0?: number;
  key1?: number;
  counterStart?: number;
  lo?: number;
  span?: number;
  mode?: number;
}

function pack(f: Fields): ArrayBuffer {
  const data = new ArrayBuffer(DELLA_UNIFORM_BYTES);
  new Uint32Array(data).set([f.total, f.pow2 ?? 1, f.length ?? 1, f.stride ?? 1, f.kk ?? 0, f.jj ?? 0, f.key0 ?? 0, f.key1 ?? 0, f.counterStart ?? 0, f.lo ?? 0, f.span ?? 0, f.mode ?? 0]);
  return data;
}

const codes = new Map<string, string>();
const code = (name: string, make: () => string) => {
  let c = codes.get(name);
  if (!c) codes.set(name, (c = make()));
  return c;
};

/** One pass of `threads` threads over whole-buffer bindings (DELLA's, SCE's). */
export function encodeWhole(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  name: string,
  wgsl: string,
  kinds: readonly KernelBinding[],
  buffers: readonly GPUBuffer[],
  threads: number,
  uniforms: ArrayBuffer,
  opts: EncodeOptions = {},
): void {
  if (threads === 0) return;
  const { pipeline, bindGroupLayout } = getKernelPipeline(device, wgsl, [...kinds, 'uniform-dynamic']);
  const ring = getUniformRing(device);
  const slot = ring.allocate(uniforms);
  const key = `${name}|${buffers.map(bufferId).join(',')}`;
  let bindGroup = ring.bindGroups.get(key);
  if (!bindGroup) {
    bindGroup = device.createBindGroup({
      label: name,
      layout: bindGroupLayout,
      entries: [...buffers.map((buffer, binding) => ({ binding, resource: { buffer } })), { binding: buffers.length, resource: { buffer: slot.buffer, offset: 0, size: uniforms.byteLength } }],
    });
    ring.bindGroups.set(key, bindGroup);
  }
  dispatch1d(device, encoder, pipeline, bindGroup, threads, WORKGROUP_SIZE, {
    dynamicOffsets: [slot.offset],
    label: name,
    ...(opts.maxWorkgroupsPerDimension !== undefined ? { maxWorkgroupsPerDimension: opts.maxWorkgroupsPerDimension } : {}),
  });
}

const pass = (device: GPUDevice, encoder: GPUCommandEncoder, name: string, wgsl: string, kinds: readonly KernelBinding[], buffers: readonly GPUBuffer[], f: Fields, opts: EncodeOptions) =>
  encodeWhole(device, encoder, name, wgsl, kinds, buffers, f.total, pack(f), opts);


/** Record DELLA (params.dims: the tensor's shape, ranks along axis 1). */
export function encodeDella(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  params: DellaParams,
  scratch: DellaScratch,
  opts: EncodeOptions = {},
): void {
  const where = 'task-vector/della.ts';
  const n = elementCount;
  if (scratch.elementCount < n || scratch.masked.length < models.length) throw new KernelParamsError(`${where}: the scratch serves ${scratch.elementCount} floats × ${scratch.masked.length} models`);
  if (models.includes(out) || out === base) throw new KernelParamsError(`${where}: out must be a different buffer from every model and the base`);
  const offset = params.offset ?? 0;
  checkDareCounters(params.seed, offset, n, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const consensus = params.consensus ?? 'ties';
  if (consensus !== 'none' && consensus !== 'ties') throw new KernelParamsError(`${where}: consensus must be 'none' or 'ties', got ${String(consensus)}`);
  const densities = resolvePerModel(params.density, 1, models.length, Number.isFinite, 'density', where);
  const epsilons = resolvePerModel(params.epsilon, 0.15, models.length, Number.isFinite, 'epsilon', where);
  const masks = dellaMasks(densities, epsilons, params.seed, where);
  const axis = rankAxis(params.dims, n);
  const pow2 = nextPow2(axis.length);
  const sorted = axis.groups * pow2;
  if (sorted > scratch.sortKeys) throw new KernelParamsError(`${where}: ${sorted} sort keys exceed the scratch`);
  const shape = { pow2, length: axis.length, stride: axis.stride };
  const rescale = params.rescale ?? true;
  const ro = 'read-only-storage' as const;
  const rw = 'storage' as const;
  models.forEach((model, i) => {
    const m = masks[i]!;
    const masked = scratch.masked[i]!;
    if (m.mode === 'draw') {
      pass(device, encoder, 'della keys', code('keys', dellaKeysWgsl), [ro, ro, rw, rw], [model, base, scratch.keyMag, scratch.keyIdx], { total: sorted, ...shape }, opts);
      for (let kk = 2; kk <= pow2; kk *= 2) {
        for (let jj = kk / 2; jj >= 1; jj /= 2) {
          pass(device, encoder, 'della step', code('step', dellaStepWgsl), [rw, rw], [scratch.keyMag, scratch.keyIdx], { total: sorted, ...shape, kk, jj }, opts);
        }
      }
      pass(device, encoder, 'della scatter', code('scatter', dellaScatterWgsl), [ro, rw], [scratch.keyIdx, scratch.rank], { total: sorted, ...shape }, opts);
    }
    const mode = m.mode === 'draw' ? 0 : m.mode === 'all' ? 1 : 2;
    pass(device, encoder, 'della mask', code('mask', dellaMaskWgsl), [ro, ro, ro, rw], [model, base, scratch.rank, masked], {
      total: n,
      ...shape,
      key0: m.key0,
      key1: m.key1,
      counterStart: offset,
      lo: m.lo,
      span: m.span,
      mode,
    }, opts);
    if (rescale && m.mode === 'draw') {
      encodeReduction(device, encoder, { name: 'della L1 norms', code: code('norms', dellaNormsWgsl), lanes: 1 }, { inputs: [model, base, masked], elementCount: n, results: scratch.norms, resultIndex: i, scratch: scratch.reduction }, opts);
      pass(device, encoder, 'della scale', code('scale', () => dellaScaleWgsl(DELLA_RESCALE_EPS)), [rw, ro], [masked, scratch.norms], { total: n, jj: i, mode: 1 }, opts);
    }
  });
  const tvs = scratch.masked.slice(0, models.length);
  if (consensus === 'ties') {
    encodeTies(device, encoder, tvs, scratch.zero, out, n, { density: 1, lambda, weights, normalize: params.normalize ?? true }, scratch.merge, opts);
  } else {
    encodeTaskArithmetic(device, encoder, tvs, scratch.zero, out, n, { lambda, weights, normalize: params.normalize ?? true }, opts);
  }
  encodeScaleAdd(device, encoder, out, base, n, 1, 1, opts);
}
