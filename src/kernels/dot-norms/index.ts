/**
 * Dot-norms kernel registration and GPU encoder: (x·y, ‖x‖², ‖y‖²) of two tensors,
 * optionally of their differences from a base, reduced entirely on the GPU.
 *
 * One reduction = one products pass (per binding chunk, for tensors above
 * maxStorageBufferBindingSize) writing ceil(n / DOT_NORMS_TILE) vec4 partials into a
 * scratch buffer, then sum passes (ping-pong between the scratch's two buffers) until
 * one vec4 is left, written at results[resultIndex]. The final sum is thus done on
 * the GPU, not the host: a results buffer holds one 16-byte vec4 per reduction, so a
 * batch of reductions (every pair of models, every tensor) is read back with one map,
 * and no weight bytes ever cross the bus. The host widens the f32 results to numbers.
 *
 * Passes run in encoding order, so one scratch serves any number of reductions
 * encoded into the same encoder, as long as it was sized for the largest tensor.
 */
import { createWeightBuffer, readFloats } from '../../gpu/buffers';
import { dispatch1d, getKernelPipeline, type Dispatch1dOptions, type KernelBinding } from '../../gpu/dispatch';
import { chunkElements, type EncodeOptions } from '../../gpu/elementwise';
import { bufferId, getUniformRing } from '../../gpu/uniform-ring';
import { KernelParamsError } from '../errors';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { dotNormsCpu, type DotNorms } from './dot-norms.cpu';
import {
  DOT_NORMS_PARTIAL_BYTES,
  DOT_NORMS_TILE,
  DOT_NORMS_UNIFORM_BYTES,
  dotNormsProductsWgsl,
  dotNormsSumWgsl,
} from './dot-norms.wgsl';

export { dotNormsCpu, type DotNorms } from './dot-norms.cpu';
export {
  dotNormsProductsWgsl,
  dotNormsSumWgsl,
  DOT_NORMS_PARTIAL_BYTES,
  DOT_NORMS_PER_THREAD,
  DOT_NORMS_TILE,
  DOT_NORMS_UNIFORM_BYTES,
} from './dot-norms.wgsl';
export type { EncodeOptions } from '../../gpu/elementwise';

export interface DotNormsChunk {
  /** First element of the chunk and its element count. */
  start: number;
  count: number;
  /** Index of the chunk's first partial in the level-1 partials. */
  partialOffset: number;
}

export interface DotNormsPlan {
  chunks: DotNormsChunk[];
  /** Level-1 partials (one per workgroup of the products passes). */
  partials: number;
  /** Partials left after each sum pass; the last is 1. Empty when partials is 1. */
  sumLevels: number[];
}

/** Pure: how a reduction of elementCount elements is cut, given elements per binding chunk. */
export function dotNormsPlan(elementCount: number, elementsPerChunk: number): DotNormsPlan {
  if (!Number.isInteger(elementCount) || elementCount < 0) {
    throw new KernelParamsError(`dot-norms/index.ts: element count must be a non-negative integer, got ${elementCount}`);
  }
  const chunks: DotNormsChunk[] = [];
  let partials = 0;
  for (let start = 0; start < elementCount; start += elementsPerChunk) {
    const count = Math.min(elementsPerChunk, elementCount - start);
    chunks.push({ start, count, partialOffset: partials });
    partials += Math.ceil(count / DOT_NORMS_TILE);
  }
  const sumLevels: number[] = [];
  for (let m = partials; m > 1; ) {
    m = Math.ceil(m / DOT_NORMS_TILE);
    sumLevels.push(m);
  }
  return { chunks, partials, sumLevels };
}

/** Two ping-pong partial buffers sized for reductions of up to maxElementCount elements. */
export interface DotNormsScratch {
  readonly maxElementCount: number;
  /** Level-1 (and odd sum levels') partials. */
  readonly a: GPUBuffer;
  /** Level-2 (and even sum levels') partials. */
  readonly b: GPUBuffer;
  destroy(): void;
}

function partialsBuffer(device: GPUDevice, count: number, label: string): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(1, count) * DOT_NORMS_PARTIAL_BYTES, usage: GPUBufferUsage.STORAGE });
}

/** opts must match the encodeDotNorms calls' (binding chunks change the partial count). */
export function createDotNormsScratch(device: GPUDevice, maxElementCount: number, opts: EncodeOptions = {}): DotNormsScratch {
  const plan = dotNormsPlan(maxElementCount, chunkElements(device, opts.maxBindingBytes));
  const a = partialsBuffer(device, plan.partials, `dot-norms scratch a[${plan.partials}]`);
  const b = partialsBuffer(device, plan.sumLevels[0] ?? 1, `dot-norms scratch b[${plan.sumLevels[0] ?? 1}]`);
  return {
    maxElementCount,
    a,
    b,
    destroy() {
      a.destroy();
      b.destroy();
    },
  };
}

/** One vec4 (dot, normSqX, normSqY, 0) per reduction; readable with readDotNormsResults. */
export function createDotNormsResults(device: GPUDevice, count: number, label?: string): GPUBuffer {
  if (!Number.isInteger(count) || count < 1) throw new KernelParamsError(`dot-norms/index.ts: results count must be a positive integer, got ${count}`);
  return createWeightBuffer(device, count * 4, label ?? `dot-norms results[${count}]`);
}

/** Read the first count results back (16 bytes each) after the reductions were submitted. */
export async function readDotNormsResults(device: GPUDevice, results: GPUBuffer, count: number): Promise<DotNorms[]> {
  const raw = await readFloats(device, results, count * 4);
  const out: DotNorms[] = [];
  for (let r = 0; r < count; r++) out.push({ dot: raw[4 * r]!, normSqX: raw[4 * r + 1]!, normSqY: raw[4 * r + 2]! });
  return out;
}

export interface DotNormsItem {
  x: GPUBuffer;
  y: GPUBuffer;
  /** Reduce (x − base)·(y − base) etc. when given. */
  base?: GPUBuffer | null;
  elementCount: number;
}

export interface EncodeDotNormsParams extends DotNormsItem {
  /** Receives the vec4 result at resultIndex; must not be x, y or base. */
  results: GPUBuffer;
  resultIndex: number;
  /** Needed when elementCount > DOT_NORMS_TILE (or the tensor spans several binding chunks). */
  scratch?: DotNormsScratch | null;
}

let productsCode: string | undefined;
let productsBaseCode: string | undefined;
let sumCode: string | undefined;

/** One pass: uniforms into a ring slot, a cached bind group, `groups` workgroups. */
function encodePass(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  name: string,
  code: string,
  storage: readonly ('read-only-storage' | 'storage')[],
  bindings: readonly GPUBufferBinding[],
  uniforms: ArrayBuffer,
  groups: number,
  opts: EncodeOptions,
): void {
  const kinds: KernelBinding[] = [...storage, 'uniform-dynamic'];
  const { pipeline, bindGroupLayout } = getKernelPipeline(device, code, kinds);
  const ring = getUniformRing(device);
  // Allocate first: a ring rotation clears the bind group cache.
  const slot = ring.allocate(uniforms);
  const key = `${name}|${bindings.map((b) => `${bufferId(b.buffer)}@${b.offset ?? 0}+${b.size ?? 'all'}`).join(',')}`;
  let bindGroup = ring.bindGroups.get(key);
  if (!bindGroup) {
    bindGroup = device.createBindGroup({
      label: name,
      layout: bindGroupLayout,
      entries: [
        ...bindings.map((resource, binding) => ({ binding, resource })),
        { binding: bindings.length, resource: { buffer: slot.buffer, offset: 0, size: DOT_NORMS_UNIFORM_BYTES } },
      ],
    });
    ring.bindGroups.set(key, bindGroup);
  }
  const dispatchOpts: Dispatch1dOptions = { dynamicOffsets: [slot.offset], label: name };
  if (opts.maxWorkgroupsPerDimension !== undefined) dispatchOpts.maxWorkgroupsPerDimension = opts.maxWorkgroupsPerDimension;
  dispatch1d(device, encoder, pipeline, bindGroup, groups * WORKGROUP_SIZE, WORKGROUP_SIZE, dispatchOpts);
}

function uniforms(a: number, b: number, c = 0): ArrayBuffer {
  const data = new ArrayBuffer(DOT_NORMS_UNIFORM_BYTES);
  const u32 = new Uint32Array(data);
  u32[0] = a;
  u32[1] = b;
  u32[2] = c;
  return data;
}

/** Record one reduction into encoder; its result lands at results[resultIndex] when the encoder runs. */
export function encodeDotNorms(device: GPUDevice, encoder: GPUCommandEncoder, params: EncodeDotNormsParams, opts: EncodeOptions = {}): void {
  const { x, y, results, resultIndex, elementCount } = params;
  const base = params.base ?? null;
  const scratch = params.scratch ?? null;
  const inputs = base ? [x, y, base] : [x, y];
  for (const [i, buf] of inputs.entries()) {
    if (buf.size < elementCount * 4) {
      throw new KernelParamsError(`dot-norms/index.ts: input ${i} holds ${buf.size} bytes, ${elementCount} floats need ${elementCount * 4}`);
    }
    if (buf === results || (scratch && (buf === scratch.a || buf === scratch.b))) {
      throw new KernelParamsError('dot-norms/index.ts: results and scratch must be different buffers from x, y and base');
    }
  }
  if (!Number.isInteger(resultIndex) || resultIndex < 0 || (resultIndex + 1) * DOT_NORMS_PARTIAL_BYTES > results.size) {
    throw new KernelParamsError(`dot-norms/index.ts: result index ${resultIndex} is outside a ${results.size}-byte results buffer`);
  }
  const plan = dotNormsPlan(elementCount, chunkElements(device, opts.maxBindingBytes));
  if (plan.partials === 0) {
    encoder.clearBuffer(results, resultIndex * DOT_NORMS_PARTIAL_BYTES, DOT_NORMS_PARTIAL_BYTES);
    return;
  }
  const direct = plan.partials === 1;
  if (!direct) {
    if (!scratch) throw new KernelParamsError(`dot-norms/index.ts: ${elementCount} elements need a scratch (createDotNormsScratch)`);
    if (scratch.a.size < plan.partials * DOT_NORMS_PARTIAL_BYTES || scratch.b.size < (plan.sumLevels.length > 1 ? plan.sumLevels[0]! : 0) * DOT_NORMS_PARTIAL_BYTES) {
      throw new KernelParamsError(`dot-norms/index.ts: scratch made for ${scratch.maxElementCount} elements is too small for ${elementCount}`);
    }
  }

  productsCode ??= dotNormsProductsWgsl(false);
  productsBaseCode ??= dotNormsProductsWgsl(true);
  sumCode ??= dotNormsSumWgsl();
  const level1 = direct ? results : scratch!.a;
  const level1Offset = direct ? resultIndex : 0;
  for (const chunk of plan.chunks) {
    const byteOffset = chunk.start * 4;
    const size = chunk.count * 4;
    const bindings: GPUBufferBinding[] = inputs.map((buffer) => ({ buffer, offset: byteOffset, size }));
    bindings.push({ buffer: level1 });
    encodePass(
      device,
      encoder,
      base ? 'dot-norms products (base)' : 'dot-norms products',
      base ? productsBaseCode : productsCode,
      base ? ['read-only-storage', 'read-only-storage', 'read-only-storage', 'storage'] : ['read-only-storage', 'read-only-storage', 'storage'],
      bindings,
      uniforms(chunk.count, level1Offset + chunk.partialOffset),
      Math.ceil(chunk.count / DOT_NORMS_TILE),
      opts,
    );
  }

  let input = scratch?.a;
  let count = plan.partials;
  for (const [level, next] of plan.sumLevels.entries()) {
    const last = level === plan.sumLevels.length - 1;
    const output = last ? results : input === scratch!.a ? scratch!.b : scratch!.a;
    encodePass(
      device,
      encoder,
      'dot-norms sum',
      sumCode,
      ['read-only-storage', 'storage'],
      [{ buffer: input! }, { buffer: output }],
      uniforms(count, 0, last ? resultIndex : 0),
      next,
      opts,
    );
    input = output;
    count = next;
  }
}

/**
 * Run a batch of reductions: one encoder, one submit, one read-back of 16 bytes per
 * item. Buffers are the caller's; the scratch and results buffers are made and freed here.
 */
export async function dotNormsGpu(device: GPUDevice, items: readonly DotNormsItem[], opts: EncodeOptions = {}): Promise<DotNorms[]> {
  if (items.length === 0) return [];
  const maxElements = Math.max(...items.map((it) => it.elementCount));
  const scratch = createDotNormsScratch(device, maxElements, opts);
  const results = createDotNormsResults(device, items.length);
  try {
    const encoder = device.createCommandEncoder({ label: 'dot-norms' });
    items.forEach((item, resultIndex) => encodeDotNorms(device, encoder, { ...item, results, resultIndex, scratch }, opts));
    device.queue.submit([encoder.finish()]);
    return await readDotNormsResults(device, results, items.length);
  } finally {
    scratch.destroy();
    results.destroy();
  }
}

export const dotNormsKernel = { name: 'dot-norms', cpu: dotNormsCpu, gpu: encodeDotNorms } as const;
export default dotNormsKernel;
