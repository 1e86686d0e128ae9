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
 * out must be a different buffer from every model and the base (WebGPU forbids a
 * writable binding aliasing a read-only one in a dispatch). A MergeScratch may be
 * reused for every tensor of a merge in one encoder: its cut table is initialised by
 * a kernel inside the command stream, not by a queue write.
 */
import type { EncodeOptions } from '../../gpu/elementwise';
import { createWeightBuffer } from '../../gpu/buffers';
import { dareMerge, type DareParams } from './dare.cpu';
import { linearMerge, type LinearMergeParams } from './linear.cpu';
import { taskArithmeticMerge, type TaskArithmeticParams } from './task-arithmetic.cpu';
import { tiesMerge, type TiesParams } from './ties.cpu';
import { KernelParamsError } from '../errors';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { encodeRanged } from './encode-ranged';
import { createCutTable, encodeTopKMagnitude, type CutTable } from './magnitude-select';
import { trimCount } from './magnitude-select.cpu';
import {
  checkDareCounters,
  checkLambda,
  checkModelCount,
  dareMasks,
  isDensity,
  isKeepProbability,
  resolvePerModel,
  resolveWeights,
  sumScale,
  type DareModelMask,
} from './params';
import {
  CONTRIB_UNIFORM_BYTES,
  FINALIZE_UNIFORM_BYTES,
  accumulateWgsl,
  finalizeWgsl,
  voteWgsl,
  type ContributionKind,
  type FinalizeKind,
} from './task-vector.wgsl';

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

/** Scratch for the consensus mergers: two tensor-sized accumulators and a cut table. */
export interface MergeScratch {
  num: GPUBuffer;
  den: GPUBuffer;
  table: CutTable;
  /** Largest tensor (floats) and most models the scratch serves. */
  elementCount: number;
  modelCount: number;
  destroy(): void;
}

/** Scratch for TIES / DARE-TIES over tensors of up to elementCount floats and up to modelCount models. */
export function createMergeScratch(device: GPUDevice, elementCount: number, modelCount: number): MergeScratch {
  checkModelCount(modelCount, 'task-vector/index.ts');
  const num = createWeightBuffer(device, elementCount, 'merge scratch: agreeing Σ w·τ');
  const den = createWeightBuffer(device, elementCount, 'merge scratch: agreeing Σ w');
  const table = createCutTable(device, modelCount);
  return {
    num,
    den,
    table,
    elementCount,
    modelCount,
    destroy() {
      num.destroy();
      den.destroy();
      table.destroy();
    },
  };
}

interface ContribFields {
  weight: number;
  first: boolean;
  slot?: number;
  mask?: DareModelMask;
  offset?: number;
}

/** ContribUniforms for one chunk; field order matches task-vector.wgsl.ts. */
export function packContribUniforms(f: ContribFields, chunkStart: number, chunkCount: number): ArrayBuffer {
  const data = new ArrayBuffer(CONTRIB_UNIFORM_BYTES);
  const f32 = new Float32Array(data);
  const u32 = new Uint32Array(data);
  f32[0] = f.weight;
  f32[1] = f.mask?.scale ?? 1;
  u32[2] = f.first ? 1 : 0;
  u32[3] = chunkCount;
  u32[4] = chunkStart;
  u32[5] = f.slot ?? 0;
  u32[6] = f.mask?.key0 ?? 0;
  u32[7] = f.mask?.key1 ?? 0;
  u32[8] = (f.offset ?? 0) + chunkStart;
  u32[9] = f.mask?.threshold ?? 0;
  return data;
}

const shaderCache = new Map<string, string>();
function shader(key: string, make: () => string): string {
  let code = shaderCache.get(key);
  if (!code) {
    code = make();
    shaderCache.set(key, code);
  }
  return code;
}

/** Read-only inputs of a contribution, in binding order after the accumulators. */
function contribInputs(kind: ContributionKind, model: GPUBuffer, base: GPUBuffer | null): GPUBuffer[] {
  return kind === 'plain' ? [model] : [model, base!];
}

function encodeAccumulate(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  kind: ContributionKind,
  acc: GPUBuffer,
  model: GPUBuffer,
  base: GPUBuffer | null,
  table: CutTable | null,
  elementCount: number,
  fields: ContribFields,
  opts: EncodeOptions,
): void {
  const inputs = contribInputs(kind, model, base);
  encodeRanged(
    device,
    encoder,
    {
      name: `task-vector accumulate (${kind})`,
      code: shader(`acc-${kind}`, () => accumulateWgsl(kind, WORKGROUP_SIZE)),
      ranged: ['storage', ...inputs.map(() => 'read-only-storage' as const)],
      whole: kind === 'trim' ? ['read-only-storage'] : [],
      uniformBytes: CONTRIB_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    [acc, ...inputs],
    kind === 'trim' ? [table!.cuts] : [],
    elementCount,
    (start, count) => packContribUniforms(fields, start, count),
    opts,
  );
}

function encodeVote(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  kind: 'delta' | 'trim' | 'dare',
  signSum: GPUBuffer,
  scratch: MergeScratch,
  model: GPUBuffer,
  base: GPUBuffer,
  elementCount: number,
  fields: ContribFields,
  opts: EncodeOptions,
): void {
  encodeRanged(
    device,
    encoder,
    {
      name: `task-vector vote (${kind})`,
      code: shader(`vote-${kind}`, () => voteWgsl(kind, WORKGROUP_SIZE)),
      ranged: ['read-only-storage', 'storage', 'storage', 'read-only-storage', 'read-only-storage'],
      whole: kind === 'trim' ? ['read-only-storage'] : [],
      uniformBytes: CONTRIB_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    [signSum, scratch.num, scratch.den, model, base],
    kind === 'trim' ? [scratch.table.cuts] : [],
    elementCount,
    (start, count) => packContribUniforms(fields, start, count),
    opts,
  );
}

function encodeFinalize(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  kind: FinalizeKind,
  buffers: GPUBuffer[],
  elementCount: number,
  scale: number,
  normalize: boolean,
  opts: EncodeOptions,
): void {
  encodeRanged(
    device,
    encoder,
    {
      name: `task-vector finalize (${kind})`,
      code: shader(`final-${kind}`, () => finalizeWgsl(kind, WORKGROUP_SIZE)),
      ranged: ['storage', ...buffers.slice(1).map(() => 'read-only-storage' as const)],
      whole: [],
      uniformBytes: FINALIZE_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    buffers,
    [],
    elementCount,
    (_start, count) => {
      const data = new ArrayBuffer(FINALIZE_UNIFORM_BYTES);
      new Float32Array(data)[0] = scale;
      const u32 = new Uint32Array(data);
      u32[1] = normalize ? 1 : 0;
      u32[2] = count;
      return data;
    },
    opts,
  );
}

function checkBuffers(
  where: string,
  models: readonly GPUBuffer[],
  base: GPUBuffer | null,
  out: GPUBuffer,
  elementCount: number,
  scratch?: MergeScratch,
): void {
  checkModelCount(models.length, where);
  if (!Number.isInteger(elementCount) || elementCount < 0) {
    throw new KernelParamsError(`${where}: element count must be a non-negative integer, got ${elementCount}`);
  }
  if (models.includes(out) || out === base) {
    throw new KernelParamsError(`${where}: on the GPU, out must be a different buffer from every model and the base`);
  }
  if (scratch) {
    if (scratch.elementCount < elementCount || scratch.modelCount < models.length) {
      throw new KernelParamsError(
        `${where}: scratch serves ${scratch.elementCount} floats × ${scratch.modelCount} models, needs ${elementCount} × ${models.length}`,
      );
    }
    const own = [scratch.num, scratch.den];
    if (own.includes(out) || (base && own.includes(base)) || models.some((m) => own.includes(m))) {
      throw new KernelParamsError(`${where}: scratch buffers must not be a model, the base or out`);
    }
  }
}

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

/** Sign election + disjoint merge of per-model contributions of one kind (TIES, DARE-TIES). */
function encodeConsensus(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  kind: 'delta' | 'trim' | 'dare',
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  scratch: MergeScratch,
  fields: (i: number, first: boolean) => ContribFields,
  lambda: number,
  normalize: boolean,
  opts: EncodeOptions,
): void {
  const table = kind === 'trim' ? scratch.table : null;
  models.forEach((m, i) => encodeAccumulate(device, encoder, kind, out, m, base, table, elementCount, fields(i, i === 0), opts));
  models.forEach((m, i) => encodeVote(device, encoder, kind, out, scratch, m, base, elementCount, fields(i, i === 0), opts));
  encodeFinalize(device, encoder, 'consensus', [out, scratch.num, scratch.den, base], elementCount, Math.fround(lambda), normalize, opts);
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
  const masks = dareMasks(densities, params.seed, params.rescale ?? true);
  const fields = (i: number, first: boolean): ContribFields => ({ weight: weights[i]!, first, mask: masks[i]!, offset });
  if (consensus === 'ties') {
    encodeConsensus(device, encoder, 'dare', models, base, out, elementCount, scratch!, fields, lambda, normalize, opts);
  } else {
    models.forEach((m, i) => encodeAccumulate(device, encoder, 'dare', out, m, base, null, elementCount, fields(i, i === 0), opts));
    encodeFinalize(device, encoder, 'base', [out, base], elementCount, sumScale(weights, lambda, normalize), false, opts);
  }
}

export const linearKernel = { name: 'linear', cpu: linearMerge, gpu: encodeLinear } as const;
export const taskArithmeticKernel = { name: 'task-arithmetic', cpu: taskArithmeticMerge, gpu: encodeTaskArithmetic } as const;
export const tiesKernel = { name: 'ties', cpu: tiesMerge, gpu: encodeTies } as const;
export const dareKernel = { name: 'dare', cpu: dareMerge, gpu: encodeDare } as const;
