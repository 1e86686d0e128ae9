/**
 * Dot-norms kernel registration and GPU encoder: (x·y, ‖x‖², ‖y‖²) of two tensors,
 * optionally of their differences from a base, reduced entirely on the GPU by the
 * shared tiled reduction (gpu/reduction.ts) with one vec4 lane: a batch of reductions
 * (every pair of models, every tensor) is read back with one map, 16 bytes each, and
 * no weight bytes ever cross the bus. The host widens the f32 results to numbers.
 */
import {
  createReductionResults,
  createReductionScratch,
  encodeReduction,
  readReductionResults,
  reductionPlan,
  runReductions,
  type ReductionPlan,
  type ReductionScratch,
} from '../reduction/index';
import type { EncodeOptions } from '../../gpu/elementwise';
import { dotNormsCpu, type DotNorms } from './dot-norms.cpu';
import { dotNormsProductsWgsl } from './dot-norms.wgsl';

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

export type DotNormsPlan = ReductionPlan;
export type DotNormsScratch = ReductionScratch;

/** Pure: how a reduction of elementCount elements is cut, given elements per binding chunk. */
export const dotNormsPlan = reductionPlan;

/** opts must match the encodeDotNorms calls' (binding chunks change the partial count). */
export function createDotNormsScratch(device: GPUDevice, maxElementCount: number, opts: EncodeOptions = {}): DotNormsScratch {
  return createReductionScratch(device, maxElementCount, 1, opts);
}

/** One vec4 (dot, normSqX, normSqY, 0) per reduction; readable with readDotNormsResults. */
export function createDotNormsResults(device: GPUDevice, count: number, label?: string): GPUBuffer {
  return createReductionResults(device, count, 1, label ?? `dot-norms results[${count}]`);
}

function toDotNorms(raw: Float32Array): DotNorms {
  return { dot: raw[0]!, normSqX: raw[1]!, normSqY: raw[2]! };
}

/** Read the first count results back (16 bytes each) after the reductions were submitted. */
export async function readDotNormsResults(device: GPUDevice, results: GPUBuffer, count: number): Promise<DotNorms[]> {
  return (await readReductionResults(device, results, count, 1)).map(toDotNorms);
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

function spec(withBase: boolean) {
  return withBase
    ? { name: 'dot-norms (base)', code: (productsBaseCode ??= dotNormsProductsWgsl(true)), lanes: 1 }
    : { name: 'dot-norms', code: (productsCode ??= dotNormsProductsWgsl(false)), lanes: 1 };
}

function inputsOf(item: DotNormsItem): GPUBuffer[] {
  return item.base ? [item.x, item.y, item.base] : [item.x, item.y];
}

/** Record one reduction into encoder; its result lands at results[resultIndex] when the encoder runs. */
export function encodeDotNorms(device: GPUDevice, encoder: GPUCommandEncoder, params: EncodeDotNormsParams, opts: EncodeOptions = {}): void {
  const { results, resultIndex, elementCount, scratch } = params;
  encodeReduction(device, encoder, spec(!!params.base), { inputs: inputsOf(params), elementCount, results, resultIndex, scratch }, opts);
}

/**
 * Run a batch of reductions: one encoder, one submit, one read-back of 16 bytes per
 * item. Buffers are the caller's; the scratch and results buffers are made and freed here.
 */
export async function dotNormsGpu(device: GPUDevice, items: readonly DotNormsItem[], opts: EncodeOptions = {}): Promise<DotNorms[]> {
  const raw = await runReductions(device, items.map((item) => ({ spec: spec(!!item.base), inputs: inputsOf(item), elementCount: item.elementCount })), opts);
  return raw.map(toDotNorms);
}

export const dotNormsKernel = { name: 'dot-norms', cpu: dotNormsCpu, gpu: encodeDotNorms } as const;
export default dotNormsKernel;
