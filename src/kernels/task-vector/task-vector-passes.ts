/**
 * The shared passes of the task-vector mergers on the GPU (one kernel family with switches):
 * per-model accumulate and vote passes over a contribution kind, the finalize pass, the
 * sign-consensus sequence, the scratch they share and the buffer checks. index.ts and
 * breadcrumbs.ts record their methods from these.
 */
import type { EncodeOptions } from '../../gpu/elementwise';
import { createWeightBuffer } from '../../gpu/buffers';
import { KernelParamsError } from '../errors';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { encodeRanged } from './encode-ranged';
import { createCutTable, type CutTable } from './magnitude-select';
import { checkModelCount, type DareModelMask } from './params';
import {
  CONTRIB_UNIFORM_BYTES,
  FINALIZE_UNIFORM_BYTES,
  accumulateWgsl,
  finalizeWgsl,
  voteWgsl,
  type ContributionKind,
  type FinalizeKind,
} from './task-vector.wgsl';

/** Kinds whose contribution reads the cut table (TIES' trim, breadcrumbs' band). */
const readsCuts = (kind: ContributionKind): boolean => kind === 'trim' || kind === 'band';

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

/**
 * Scratch for TIES / DARE-TIES / breadcrumbs over tensors of up to elementCount floats and up
 * to modelCount models; cutsPerModel cut slots per model (breadcrumbs keeps a band: two cuts).
 */
export function createMergeScratch(device: GPUDevice, elementCount: number, modelCount: number, cutsPerModel = 1): MergeScratch {
  checkModelCount(modelCount, 'task-vector/index.ts');
  const num = createWeightBuffer(device, elementCount, 'merge scratch: agreeing Σ w·τ');
  const den = createWeightBuffer(device, elementCount, 'merge scratch: agreeing Σ w');
  const table = createCutTable(device, modelCount * cutsPerModel);
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

export interface ContribFields {
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

export function encodeAccumulate(
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
  signOnly = false,
): void {
  const inputs = contribInputs(kind, model, base);
  encodeRanged(
    device,
    encoder,
    {
      name: `task-vector accumulate (${kind}${signOnly ? ', sign' : ''})`,
      code: shader(`acc-${kind}${signOnly ? '-sign' : ''}`, () => accumulateWgsl(kind, WORKGROUP_SIZE, signOnly)),
      ranged: ['storage', ...inputs.map(() => 'read-only-storage' as const)],
      whole: readsCuts(kind) ? ['read-only-storage'] : [],
      uniformBytes: CONTRIB_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    [acc, ...inputs],
    readsCuts(kind) ? [table!.cuts] : [],
    elementCount,
    (start, count) => packContribUniforms(fields, start, count),
    opts,
  );
}

function encodeVote(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  kind: Exclude<ContributionKind, 'plain'>,
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
      whole: readsCuts(kind) ? ['read-only-storage'] : [],
      uniformBytes: CONTRIB_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    [signSum, scratch.num, scratch.den, model, base],
    readsCuts(kind) ? [scratch.table.cuts] : [],
    elementCount,
    (start, count) => packContribUniforms(fields, start, count),
    opts,
  );
}

export function encodeFinalize(
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

export function checkBuffers(
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

/** Sign election + disjoint merge of per-model contributions of one kind (TIES, DARE-TIES). */
export function encodeConsensus(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  kind: Exclude<ContributionKind, 'plain'>,
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  scratch: MergeScratch,
  fields: (i: number, first: boolean) => ContribFields,
  lambda: number,
  normalize: boolean,
  opts: EncodeOptions,
  vote: 'sum' | 'count' = 'sum',
): void {
  const table = readsCuts(kind) ? scratch.table : null;
  // The vote: Σ c (TIES's 'sum') or Σ sign(c) ('count'), + where ≥ 0.
  models.forEach((m, i) => encodeAccumulate(device, encoder, kind, out, m, base, table, elementCount, fields(i, i === 0), opts, vote === 'count'));
  models.forEach((m, i) => encodeVote(device, encoder, kind, out, scratch, m, base, elementCount, fields(i, i === 0), opts));
  encodeFinalize(device, encoder, 'consensus', [out, scratch.num, scratch.den, base], elementCount, Math.fround(lambda), normalize, opts);
}

