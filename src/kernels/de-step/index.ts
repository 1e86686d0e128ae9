/**
 * DE step kernel registration: the CPU twin and the GPU encoder behind one name.
 * encodeDeStep records into the caller's encoder (no submit) so the engine can batch
 * every tensor of an offspring, or of a whole generation, into one submission.
 */
import { KernelParamsError } from '../errors';
import { encodeElementwise, type EncodeOptions } from '../../gpu/elementwise';
import { probabilityThreshold, rngKey } from '../rng/rng.cpu';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { deTrialCpu, interpolationVectors, validateDeStep, type DeRoles, type DeStepParams } from './de-step.cpu';
import { DE_STEP_UNIFORM_BYTES, deStepWgsl } from './de-step.wgsl';

export { deStepCpu, deTrialCpu, interpolationVectors, validateDeStep, DE_STEP_MAX_GLOBAL_INDEX, type DeRoles, type DeStepParams, type DeVectors } from './de-step.cpu';
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

/** The GPU buffers of one trial (see DeRoles); one buffer may fill several roles. */
export type DeBuffers = DeRoles<GPUBuffer>;

/**
 * Record out = crossover(target, base + F·(plus − minus)) over elementCount floats into
 * encoder. Buffers hold at least elementCount floats; out differs from every input.
 */
export function encodeDeTrial(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  vectors: DeBuffers,
  out: GPUBuffer,
  elementCount: number,
  params: DeStepParams,
  opts: EncodeOptions = {},
): void {
  validateDeStep(elementCount, params);
  const inputs = [vectors.target, vectors.base, vectors.plus, vectors.minus];
  if (inputs.includes(out)) {
    throw new KernelParamsError('de-step/index.ts: on the GPU, out must be a different buffer from the trial\'s inputs');
  }
  shaderCode ??= deStepWgsl(WORKGROUP_SIZE);
  encodeElementwise(
    device,
    encoder,
    {
      name: 'de-step',
      code: shaderCode,
      storage: ['read-only-storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'storage'],
      uniformBytes: DE_STEP_UNIFORM_BYTES,
      workgroupSize: WORKGROUP_SIZE,
    },
    [...inputs, out],
    elementCount,
    (start, count) => packDeStepUniforms(params, start, count),
    opts,
  );
}

/** The Evolver's step on the GPU: out = crossover(parent, parent + F·(donor − parent)). */
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
  encodeDeTrial(device, encoder, interpolationVectors(parent, donor), out, elementCount, params, opts);
}

export const deStepKernel = { name: 'de-step', cpu: deTrialCpu, gpu: encodeDeTrial } as const;
export default deStepKernel;
