/**
 * Shared encoder for tiled sum reductions (kernels/reduction.wgsl.ts): one products
 * pass per binding chunk (tensors above maxStorageBufferBindingSize) writing
 * ceil(n / tile) partials of `lanes` vec4 into a scratch buffer, then sum passes
 * (ping-pong between the scratch's two buffers) until one partial is left, written at
 * results[resultIndex]. The final sum is done on the GPU, not the host: a results
 * buffer holds one partial per reduction, so a batch of reductions (every pair of
 * models, every tensor) is read back with one map and no weight bytes cross the bus.
 *
 * Passes run in encoding order, so one scratch serves any number of reductions
 * encoded into the same encoder, as long as it was sized for the largest tensor.
 */
import { createWeightBuffer, readFloats } from '../../gpu/buffers';
import { dispatch1d, getKernelPipeline, type Dispatch1dOptions, type KernelBinding } from '../../gpu/dispatch';
import { chunkElements, type EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { bufferId, getUniformRing } from '../../gpu/uniform-ring';
import { REDUCTION_LANE_BYTES, REDUCTION_TILE, REDUCTION_UNIFORM_BYTES, tiledSumWgsl } from './reduction.wgsl';
import { WORKGROUP_SIZE } from '../shared.wgsl';

export interface ReductionChunk {
  /** First element of the chunk and its element count. */
  start: number;
  count: number;
  /** Index of the chunk's first partial in the level-1 partials. */
  partialOffset: number;
}

export interface ReductionPlan {
  chunks: ReductionChunk[];
  /** Level-1 partials (one per workgroup of the products passes). */
  partials: number;
  /** Partials left after each sum pass; the last is 1. Empty when partials is 1. */
  sumLevels: number[];
}

/** Pure: how a reduction of elementCount elements is cut, given elements per binding chunk. */
export function reductionPlan(elementCount: number, elementsPerChunk: number): ReductionPlan {
  if (!Number.isInteger(elementCount) || elementCount < 0) {
    throw new KernelParamsError(`reduction.ts: element count must be a non-negative integer, got ${elementCount}`);
  }
  const chunks: ReductionChunk[] = [];
  let partials = 0;
  for (let start = 0; start < elementCount; start += elementsPerChunk) {
    const count = Math.min(elementsPerChunk, elementCount - start);
    chunks.push({ start, count, partialOffset: partials });
    partials += Math.ceil(count / REDUCTION_TILE);
  }
  const sumLevels: number[] = [];
  for (let m = partials; m > 1; ) {
    m = Math.ceil(m / REDUCTION_TILE);
    sumLevels.push(m);
  }
  return { chunks, partials, sumLevels };
}

/** Two ping-pong partial buffers sized for reductions of up to maxElementCount elements. */
export interface ReductionScratch {
  readonly maxElementCount: number;
  readonly lanes: number;
  /** Level-1 (and odd sum levels') partials. */
  readonly a: GPUBuffer;
  /** Level-2 (and even sum levels') partials. */
  readonly b: GPUBuffer;
  destroy(): void;
}

/** opts must match the encode calls' (binding chunks change the partial count). */
export function createReductionScratch(device: GPUDevice, maxElementCount: number, lanes: number, opts: EncodeOptions = {}): ReductionScratch {
  const plan = reductionPlan(maxElementCount, chunkElements(device, opts.maxBindingBytes));
  const buffer = (count: number, label: string) =>
    device.createBuffer({ label, size: Math.max(1, count) * lanes * REDUCTION_LANE_BYTES, usage: GPUBufferUsage.STORAGE });
  const a = buffer(plan.partials, `reduction scratch a[${plan.partials}×${lanes}]`);
  const b = buffer(plan.sumLevels[0] ?? 1, `reduction scratch b[${plan.sumLevels[0] ?? 1}×${lanes}]`);
  return {
    maxElementCount,
    lanes,
    a,
    b,
    destroy() {
      a.destroy();
      b.destroy();
    },
  };
}

/** One partial (lanes × vec4) per reduction. */
export function createReductionResults(device: GPUDevice, count: number, lanes: number, label?: string): GPUBuffer {
  if (!Number.isInteger(count) || count < 1) throw new KernelParamsError(`reduction.ts: results count must be a positive integer, got ${count}`);
  return createWeightBuffer(device, count * lanes * 4, label ?? `reduction results[${count}×${lanes}]`);
}

/** Read the first count results back (lanes × 16 bytes each) after the reductions were submitted. */
export async function readReductionResults(device: GPUDevice, results: GPUBuffer, count: number, lanes: number): Promise<Float32Array[]> {
  const raw = await readFloats(device, results, count * lanes * 4);
  return Array.from({ length: count }, (_, r) => raw.subarray(r * lanes * 4, (r + 1) * lanes * 4));
}

/** The products pass of one reduction kind: its shader reads `inputs` and writes one-partial-per-workgroup. */
export interface ReductionKernelSpec {
  name: string;
  code: string;
  lanes: number;
}

export interface EncodeReductionParams {
  /** The tensors the products pass reads (each at least elementCount floats), in binding order. */
  inputs: readonly GPUBuffer[];
  elementCount: number;
  /** Receives the partial at resultIndex; must not be one of the inputs. */
  results: GPUBuffer;
  resultIndex: number;
  /** Needed when elementCount > one tile (or the tensor spans several binding chunks). */
  scratch?: ReductionScratch | null;
}

const sumCodes = new Map<number, string>();

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
        { binding: bindings.length, resource: { buffer: slot.buffer, offset: 0, size: REDUCTION_UNIFORM_BYTES } },
      ],
    });
    ring.bindGroups.set(key, bindGroup);
  }
  const dispatchOpts: Dispatch1dOptions = { dynamicOffsets: [slot.offset], label: name };
  if (opts.maxWorkgroupsPerDimension !== undefined) dispatchOpts.maxWorkgroupsPerDimension = opts.maxWorkgroupsPerDimension;
  dispatch1d(device, encoder, pipeline, bindGroup, groups * WORKGROUP_SIZE, WORKGROUP_SIZE, dispatchOpts);
}

function uniforms(a: number, b: number, c = 0): ArrayBuffer {
  const data = new ArrayBuffer(REDUCTION_UNIFORM_BYTES);
  const u32 = new Uint32Array(data);
  u32[0] = a;
  u32[1] = b;
  u32[2] = c;
  return data;
}

/** Record one reduction into encoder; its result lands at results[resultIndex] when the encoder runs. */
export function encodeReduction(device: GPUDevice, encoder: GPUCommandEncoder, spec: ReductionKernelSpec, params: EncodeReductionParams, opts: EncodeOptions = {}): void {
  const { inputs, results, resultIndex, elementCount } = params;
  const { lanes } = spec;
  const scratch = params.scratch ?? null;
  const partialBytes = lanes * REDUCTION_LANE_BYTES;
  for (const [i, buf] of inputs.entries()) {
    if (buf.size < elementCount * 4) {
      throw new KernelParamsError(`${spec.name}: input ${i} holds ${buf.size} bytes, ${elementCount} floats need ${elementCount * 4}`);
    }
    if (buf === results || (scratch && (buf === scratch.a || buf === scratch.b))) {
      throw new KernelParamsError(`${spec.name}: results and scratch must be different buffers from the inputs`);
    }
  }
  if (!Number.isInteger(resultIndex) || resultIndex < 0 || (resultIndex + 1) * partialBytes > results.size) {
    throw new KernelParamsError(`${spec.name}: result index ${resultIndex} is outside a ${results.size}-byte results buffer`);
  }
  const plan = reductionPlan(elementCount, chunkElements(device, opts.maxBindingBytes));
  if (plan.partials === 0) {
    encoder.clearBuffer(results, resultIndex * partialBytes, partialBytes);
    return;
  }
  const direct = plan.partials === 1;
  if (!direct) {
    if (!scratch) throw new KernelParamsError(`${spec.name}: ${elementCount} elements need a scratch (createReductionScratch)`);
    if (scratch.lanes !== lanes) throw new KernelParamsError(`${spec.name}: scratch made for ${scratch.lanes} lanes, the kernel has ${lanes}`);
    if (scratch.a.size < plan.partials * partialBytes || scratch.b.size < (plan.sumLevels.length > 1 ? plan.sumLevels[0]! : 0) * partialBytes) {
      throw new KernelParamsError(`${spec.name}: scratch made for ${scratch.maxElementCount} elements is too small for ${elementCount}`);
    }
  }
  let sumCode = sumCodes.get(lanes);
  if (!sumCode) sumCodes.set(lanes, (sumCode = tiledSumWgsl(lanes)));

  const level1 = direct ? results : scratch!.a;
  const level1Offset = direct ? resultIndex : 0;
  const storage: ('read-only-storage' | 'storage')[] = [...inputs.map(() => 'read-only-storage' as const), 'storage'];
  for (const chunk of plan.chunks) {
    const byteOffset = chunk.start * 4;
    const size = chunk.count * 4;
    const bindings: GPUBufferBinding[] = inputs.map((buffer) => ({ buffer, offset: byteOffset, size }));
    bindings.push({ buffer: level1 });
    encodePass(device, encoder, `${spec.name} products`, spec.code, storage, bindings, uniforms(chunk.count, level1Offset + chunk.partialOffset), Math.ceil(chunk.count / REDUCTION_TILE), opts);
  }

  let input = scratch?.a;
  let count = plan.partials;
  for (const [level, next] of plan.sumLevels.entries()) {
    const last = level === plan.sumLevels.length - 1;
    const output = last ? results : input === scratch!.a ? scratch!.b : scratch!.a;
    encodePass(device, encoder, `${spec.name} sum`, sumCode, ['read-only-storage', 'storage'], [{ buffer: input! }, { buffer: output }], uniforms(count, 0, last ? resultIndex : 0), next, opts);
    input = output;
    count = next;
  }
}

/** One reduction of a batch: its kind and the tensors its products pass reads. */
export interface ReductionItem {
  spec: ReductionKernelSpec;
  inputs: readonly GPUBuffer[];
  elementCount: number;
}

/**
 * Run a batch of reductions with the same lane count: one encoder, one submit, one
 * read-back of one partial per item. Inputs are the caller's; the scratch and results
 * are made and freed here.
 */
export async function runReductions(device: GPUDevice, items: readonly ReductionItem[], opts: EncodeOptions = {}): Promise<Float32Array[]> {
  if (items.length === 0) return [];
  const lanes = items[0]!.spec.lanes;
  if (items.some((it) => it.spec.lanes !== lanes)) throw new KernelParamsError('reduction.ts: one batch needs one lane count');
  const maxElements = Math.max(...items.map((it) => it.elementCount));
  const scratch = createReductionScratch(device, maxElements, lanes, opts);
  const results = createReductionResults(device, items.length, lanes);
  try {
    const encoder = device.createCommandEncoder({ label: items[0]!.spec.name });
    items.forEach((item, resultIndex) => encodeReduction(device, encoder, item.spec, { inputs: item.inputs, elementCount: item.elementCount, results, resultIndex, scratch }, opts));
    device.queue.submit([encoder.finish()]);
    return await readReductionResults(device, results, items.length, lanes);
  } finally {
    scratch.destroy();
    results.destroy();
  }
}
