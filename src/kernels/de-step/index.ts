/**
 * DE step kernel registration: the CPU twin and the GPU encoder behind one name.
 * encodeDeStep records into the caller's encoder (no submit) so the engine can batch
 * every tensor of an offspring, or of a whole generation, into one submission.
 */
import { KernelParamsError } from '../errors';
import { encodeElementwise, type EncodeOptions } from '../../gpu/elementwise';
import { probabilityThreshold, rngKey } from '../rng/rng.cpu';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { deStepCpu, validateDeStep, type DeStepParams } from './de-step.cpu';
import { DE_STEP_UNIFORM_BYTES, deStepWgsl } from './de-step.wgsl';

export { deStepCpu, validateDeStep, DE_STEP_MAX_GLOBAL_INDEX, type DeStepParams } from './de-step.cpu';
export { deStepWgsl, DE_STEP_UNIFORM_BYTES } from './de-step.wgsl';
export type { EncodeOptions } from '../../gpu/elementwise';

let shaderCode: string | undefined;

/** Uniform bytes for one chunk; field order matches DeStepUniforms in de-step.wgsl.ts. */
export function packDeStepUniforms(params: DeStepParams, chunkStart: number, chunkCount: number): ArrayBuffer {
  const data = new ArrayBuffer(DE_STEP_UNIFORM_BYTES);
  const u32 = new Uint32Array(data);
  new Float32Array(data, 0, 1)[0] = params.f;
  const [k0, k1] = rngKey(params.seed, params.stream);
  u32[1] = probabilityThreshold(params.cr);
  u32[2] = k0;
  u32[3] = k1;
  u32[4] = params.offset + chunkStart;
  u32[5] = params.jRand === -1 ? 0xffff_ffff : params.jRand;
  u32[6] = chunkCount;
  return data;
}

/**
 * Record out = deStep(parent, donor) over elementCount floats into encoder.
 * Buffers hold at least elementCount floats; out differs from parent and donor.
 */
export function encodeDeStep(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  parent: GPUBuffer,
  donor: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  params: DeStepParams,
  opts: EncodeOptions = {},
): void {
  validateDeStep(elementCount, params);
  if (out === parent || out === donor) {
    throw new KernelParamsError('de-step/index.ts: on the GPU, out must be a different buffer from parent and donor');
  }
  shaderCode ??= deStepWgsl(WORKGROUP_SIZE);
  encodeElementwise(
    device,
    encoder,
    { name: 'de-step', code: shaderCode, storage: ['read-only-storage', 'read-only-storage', 'storage'], uniformBytes: DE_STEP_UNIFORM_BYTES, workgroupSize: WORKGROUP_SIZE },
    [parent, donor, out],
    elementCount,
    (start, count) => packDeStepUniforms(params, start, count),
    opts,
  );
}

export const deStepKernel = { name: 'de-step', cpu: deStepCpu, gpu: encodeDeStep } as const;
export default deStepKernel;
