/**
 * Task-vector mergers on the GPU: linear, task arithmetic, TIES and DARE per tensor,
 * recorded into the caller's command encoder (no submit, nothing read back), with the
 * CPU twins in src/engine/methods and the top-k select in magnitude-select.ts.
 *
 * Passes per tensor with N models (each a compute pass, run in encoding order):
 *   linear / task arithmetic / DARE-linear: N accumulate passes into out + 1 finalize
 *   TIES: N top-k selects (magnitude-select.ts), N accumulate passes (Σ w τ̂ into out),
 *         N vote passes (agreeing Σ w τ̂ and Σ w into scratch.num / scratch.den),
 *         1 finalize; DARE-TIES the same without the selects
 *   breadcrumbs: 2N top-k selects (the band's outer and outlier cuts, breadcrumbs.ts), then
 *         as task arithmetic (or, breadcrumbs_ties, as TIES) over the band
 * out must be a different buffer from every model and the base (WebGPU forbids a
 * writable binding aliasing a read-only one in a dispatch). A MergeScratch may be
 * reused for every tensor of a merge in one encoder: its cut table is initialised by
 * a kernel inside the command stream, not by a queue write.
 */
import type { EncodeOptions } from '../../gpu/elementwise';
import { dareMerge, type DareParams } from './dare.cpu';
import { linearMerge, type LinearMergeParams } from './linear.cpu';
import { taskArithmeticMerge, type TaskArithmeticParams } from './task-arithmetic.cpu';
import { tiesMerge, type TiesParams } from './ties.cpu';
import { breadcrumbsMerge } from './breadcrumbs.cpu';
import { encodeBreadcrumbs } from './breadcrumbs';
import { KernelParamsError } from '../errors';
import { encodeTopKMagnitude } from './magnitude-select';
import { trimCount } from './magnitude-select.cpu';
import { checkDareCounters, checkLambda, dareMasks, isDensity, isKeepProbability, resolvePerModel, resolveWeights, sumScale } from './params';
import { checkBuffers, encodeAccumulate, encodeConsensus, encodeFinalize, type ContribFields, type MergeScratch } from './task-vector-passes';

export { createMergeScratch, packContribUniforms, type MergeScratch } from './task-vector-passes';
export { breadcrumbsMerge, breadcrumbsCounts, type BreadcrumbsParams } from './breadcrumbs.cpu';
export { encodeBreadcrumbs } from './breadcrumbs';
export {
  createCutTable,
  encodeTopKMagnitude,
  gpuKthLargestMagnitude,
  magnitudeSelectKernel,
  readCut,
  type CutTable,
} from './magnitude-select';
export {
  kthLargestMagnitude,
  topKMagnitudeCut,
  trimCount,
  keptByCut,
  magnitudeBits,
  floatFromBits,
  type MagnitudeCut,
} from './magnitude-select.cpu';
export type { EncodeOptions } from '../../gpu/elementwise';

/** Record out = Σ w_i θ_i (÷ Σ w_i when normalize, the default). */
export function encodeLinear(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  out: GPUBuffer,
  elementCount: number,
  params: LinearMergeParams = {},
  opts: EncodeOptions = {},
): void {
  const where = 'task-vector/index.ts (linear)';
  checkBuffers(where, models, null, out, elementCount);
  const weights = resolveWeights(params.weights, models.length, where);
  models.forEach((m, i) => encodeAccumulate(device, encoder, 'plain', out, m, null, null, elementCount, { weight: weights[i]!, first: i === 0 }, opts));
  encodeFinalize(device, encoder, 'scale', [out], elementCount, sumScale(weights, 1, params.normalize ?? true), false, opts);
}

/** Record out = base + λ·Σ w_i (θ_i − base) (÷ Σ w_i when normalize). */
export function encodeTaskArithmetic(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  params: TaskArithmeticParams = {},
  opts: EncodeOptions = {},
): void {
  const where = 'task-vector/index.ts (task arithmetic)';
  checkBuffers(where, models, base, out, elementCount);
  const weights = resolveWeights(params.weights, models.length, where);
  const scale = sumScale(weights, checkLambda(params.lambda ?? 1, where), params.normalize ?? false);
  models.forEach((m, i) => encodeAccumulate(device, encoder, 'delta', out, m, base, null, elementCount, { weight: weights[i]!, first: i === 0 }, opts));
  encodeFinalize(device, encoder, 'base', [out, base], elementCount, scale, false, opts);
}

/** Record TIES: per-model top-k trim, sign election, disjoint merge; out = base + λ·merged. */
export function encodeTies(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  params: TiesParams,
  scratch: MergeScratch,
  opts: EncodeOptions = {},
): void {
  const where = 'task-vector/index.ts (ties)';
  checkBuffers(where, models, base, out, elementCount, scratch);
  const weights = resolveWeights(params.weights, models.length, where);
  const densities = resolvePerModel(params.density, 1, models.length, isDensity, 'density', where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const trimmed = densities.some((d) => trimCount(d, elementCount) < elementCount);
  if (trimmed) {
    models.forEach((m, i) =>
      encodeTopKMagnitude(device, encoder, m, base, elementCount, trimCount(densities[i]!, elementCount), scratch.table, i, opts),
    );
  }
  encodeConsensus(
    device,
    encoder,
    trimmed ? 'trim' : 'delta',
    models,
    base,
    out,
    elementCount,
    scratch,
    (i, first) => ({ weight: weights[i]!, first, slot: i }),
    lambda,
    params.normalize ?? true,
    opts,
    params.consensus ?? 'sum',
  );
}

/**
 * Record DARE: random drop (keep probability = density, counter-based RNG keyed by
 * (seed, model index), counter offset + j) and 1/p rescale, then the linear sum
 * (consensus 'none') or TIES election (consensus 'ties', needs scratch).
 */
export function encodeDare(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  params: DareParams,
  scratch: MergeScratch | null = null,
  opts: EncodeOptions = {},
): void {
  const where = 'task-vector/index.ts (dare)';
  const consensus = params.consensus ?? 'none';
  if (consensus !== 'none' && consensus !== 'ties') throw new KernelParamsError(`${where}: consensus must be 'none' or 'ties', got ${String(consensus)}`);
  if (consensus === 'ties' && !scratch) throw new KernelParamsError(`${where}: consensus 'ties' needs a MergeScratch`);
  checkBuffers(where, models, base, out, elementCount, consensus === 'ties' ? scratch! : undefined);
  const offset = params.offset ?? 0;
  checkDareCounters(params.seed, offset, elementCount, where);
  const weights = resolveWeights(params.weights, models.length, where);
  const densities = resolvePerModel(params.density, 1, models.length, isKeepProbability, 'density (keep probability)', where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const normalize = params.normalize ?? false;
  const scales = params.scales;
  if (scales && scales.length !== models.length) throw new KernelParamsError(`${where}: ${scales.length} scales for ${models.length} models`);
  if (!scales && (params.rescale ?? true) && (params.rescaleNorm ?? 'density') !== 'density') throw new KernelParamsError(`${where}: a norm-keeping rescale (${params.rescaleNorm}) needs its scales (dareNormScalesGpu)`);
  const masks = dareMasks(densities, params.seed, params.rescale ?? true).map((m, i) => (scales ? { ...m, scale: Math.fround(scales[i]!) } : m));
  const fields = (i: number, first: boolean): ContribFields => ({ weight: weights[i]!, first, mask: masks[i]!, offset });
  if (consensus === 'ties') {
    encodeConsensus(device, encoder, 'dare', models, base, out, elementCount, scratch!, fields, lambda, normalize, opts, params.vote ?? 'sum');
  } else {
    models.forEach((m, i) => encodeAccumulate(device, encoder, 'dare', out, m, base, null, elementCount, fields(i, i === 0), opts));
    encodeFinalize(device, encoder, 'base', [out, base], elementCount, sumScale(weights, lambda, normalize), false, opts);
  }
}

export const linearKernel = { name: 'linear', cpu: linearMerge, gpu: encodeLinear } as const;
export const taskArithmeticKernel = { name: 'task-arithmetic', cpu: taskArithmeticMerge, gpu: encodeTaskArithmetic } as const;
export const tiesKernel = { name: 'ties', cpu: tiesMerge, gpu: encodeTies } as const;
export const dareKernel = { name: 'dare', cpu: dareMerge, gpu: encodeDare } as const;
export const breadcrumbsKernel = { name: 'breadcrumbs', cpu: breadcrumbsMerge, gpu: encodeBreadcrumbs } as const;
