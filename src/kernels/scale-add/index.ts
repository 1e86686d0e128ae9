/**
 * Scale-add kernel registration: CPU twin and GPU encoder behind one name.
 * encodeScaleAdd records into the caller's encoder; passes over one out buffer run in
 * encoding order (each is its own compute pass), so a mean of N models is N calls.
 */
import { KernelParamsError } from '../errors';
import { encodeElementwise, type EncodeOptions } from '../../gpu/elementwise';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { scaleAddCpu, validateScaleAdd } from './scale-add.cpu';
import { SCALE_ADD_UNIFORM_BYTES, scaleAddWgsl } from './scale-add.wgsl';

export { scaleAddCpu, validateScaleAdd } from './scale-add.cpu';
export { scaleAddWgsl, SCALE_ADD_UNIFORM_BYTES } from './scale-add.wgsl';
export type { EncodeOptions } from '../../gpu/elementwise';

let shaderCode: string | undefined;

export function packScaleAddUniforms(alpha: number, beta: number, chunkCount: number): ArrayBuffer {
  const data = new ArrayBuffer(SCALE_ADD_UNIFORM_BYTES);
  const f32 = new Float32Array(data);
  f32[0] = alpha;
  f32[1] = beta;
  new Uint32Array(data)[2] = chunkCount;
  return data;
}

/** Record out = α·out + β·x over elementCount floats into encoder. */
export function encodeScaleAdd(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  out: GPUBuffer,
  x: GPUBuffer,
  elementCount: number,
  alpha: number,
  beta: number,
  opts: EncodeOptions = {},
): void {
  validateScaleAdd(alpha, beta);
  if (out === x) throw new KernelParamsError('scale-add/index.ts: on the GPU, out and x must be different buffers');
  shaderCode ??= scaleAddWgsl(WORKGROUP_SIZE);
  encodeElementwise(
    device,
    encoder,
    { name: 'scale-add', code: shaderCode, storage: ['storage', 'read-only-storage'], uniformBytes: SCALE_ADD_UNIFORM_BYTES, workgroupSize: WORKGROUP_SIZE },
    [out, x],
    elementCount,
    (_start, count) => packScaleAddUniforms(alpha, beta, count),
    opts,
  );
}

export const scaleAddKernel = { name: 'scale-add', cpu: scaleAddCpu, gpu: encodeScaleAdd } as const;
export default scaleAddKernel;
