/**
 * Fisher-merge kernel registration and GPU encoder: the GPU twin of the Fisher-weighted
 * merge (src/eval/fisher.ts), for the WebGPU population.
 *
 * One accumulate pass per model (binding θ_m and F_m only) into three scratch
 * accumulators, then one finalize pass into out; passes run in encoding order. So any
 * number of models fits the default 8 storage buffers per stage, and one scratch sized
 * for the largest tensor serves every tensor encoded into the same encoder.
 */
import { createWeightBuffer } from '../../gpu/buffers';
import { encodeElementwise, type EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { fisherMergeCpu, validateFisherMerge } from './fisher-merge.cpu';
import { FISHER_MERGE_UNIFORM_BYTES, fisherAccumulateWgsl, fisherFinalizeWgsl } from './fisher-merge.wgsl';

export { fisherMergeCpu, validateFisherMerge } from './fisher-merge.cpu';
export { fisherAccumulateWgsl, fisherFinalizeWgsl, FISHER_MERGE_UNIFORM_BYTES } from './fisher-merge.wgsl';
export type { EncodeOptions } from '../../gpu/elementwise';

/** Σ F·θ, Σ F and Σ θ per element, for tensors of up to maxElementCount floats. */
export interface FisherScratch {
  num: GPUBuffer;
  den: GPUBuffer;
  sum: GPUBuffer;
}

export function createFisherScratch(device: GPUDevice, maxElementCount: number): FisherScratch & { destroy(): void } {
  if (!Number.isInteger(maxElementCount) || maxElementCount < 0) {
    throw new KernelParamsError(`fisher-merge/index.ts: element count must be a non-negative integer, got ${maxElementCount}`);
  }
  const num = createWeightBuffer(device, maxElementCount, `fisher scratch num[${maxElementCount}]`);
  const den = createWeightBuffer(device, maxElementCount, `fisher scratch den[${maxElementCount}]`);
  const sum = createWeightBuffer(device, maxElementCount, `fisher scratch sum[${maxElementCount}]`);
  return {
    num,
    den,
    sum,
    destroy() {
      num.destroy();
      den.destroy();
      sum.destroy();
    },
  };
}

let accumulateCode: string | undefined;
let finalizeCode: string | undefined;

/** Record out = Σ F_m·θ_m / Σ F_m (plain mean where Σ F_m is 0) over elementCount floats. */
export function encodeFisherMerge(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  fishers: readonly GPUBuffer[],
  out: GPUBuffer,
  elementCount: number,
  scratch: FisherScratch,
  opts: EncodeOptions = {},
): void {
  validateFisherMerge(models.length, fishers.length);
  const acc = [scratch.num, scratch.den, scratch.sum];
  if (new Set(acc).size !== 3) throw new KernelParamsError('fisher-merge/index.ts: scratch num, den and sum must be different buffers');
  for (const buf of [out, ...models, ...fishers]) {
    if (acc.includes(buf)) throw new KernelParamsError('fisher-merge/index.ts: scratch buffers must differ from out, models and Fishers');
  }
  if (models.includes(out) || fishers.includes(out)) {
    throw new KernelParamsError('fisher-merge/index.ts: out must differ from every model and Fisher buffer');
  }
  accumulateCode ??= fisherAccumulateWgsl(WORKGROUP_SIZE);
  finalizeCode ??= fisherFinalizeWgsl(WORKGROUP_SIZE);
  models.forEach((theta, m) => {
    encodeElementwise(
      device,
      encoder,
      {
        name: 'fisher-merge accumulate',
        code: accumulateCode!,
        storage: ['storage', 'storage', 'storage', 'read-only-storage', 'read-only-storage'],
        uniformBytes: FISHER_MERGE_UNIFORM_BYTES,
        workgroupSize: WORKGROUP_SIZE,
      },
      [scratch.num, scratch.den, scratch.sum, theta, fishers[m]!],
      elementCount,
      (_start, count) => new Uint32Array([count, m === 0 ? 1 : 0, 0, 0]).buffer,
      opts,
    );
  });
  encodeElementwise(
    device,
    encoder,
    {
      name: 'fisher-merge finalize',
      code: finalizeCode,
      storage: ['storage', 'read-only-storage', 'read-only-storage', 'read-only-storage'],
      uniformBytes: FISHER_MERGE_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    [out, scratch.num, scratch.den, scratch.sum],
    elementCount,
    (_start, count) => {
      const data = new ArrayBuffer(FISHER_MERGE_UNIFORM_BYTES);
      new Uint32Array(data)[0] = count;
      new Float32Array(data)[1] = models.length;
      return data;
    },
    opts,
  );
}

export const fisherMergeKernel = { name: 'fisher-merge', cpu: fisherMergeCpu, gpu: encodeFisherMerge } as const;
export default fisherMergeKernel;
