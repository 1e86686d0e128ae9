/**
 * SLERP on the GPU: the twin of src/engine/methods/slerp.ts, built from two kernels.
 *
 * 1. dot-norms reduces (a·b, ‖a‖², ‖b‖²) of every tensor on the GPU; one read-back of
 *    16 bytes per tensor (never the weights) brings the sums to the host.
 * 2. slerpCoefficients (the CPU twin's own function) turns them into two weights.
 * 3. two scale-add passes per tensor: out = wA·a; out += wB·b.
 * Batching all tensors costs one map for the whole model instead of one per tensor.
 * The host step is unavoidable with uniform-parameter kernels and cheap (µs per tensor).
 */
import { type EncodeOptions } from '../../gpu/elementwise';
import { slerpCoefficients, SlerpError, validateSlerpParams, type SlerpCoefficients, type SlerpParams } from './slerp.cpu';
import { dotNormsGpu } from '../dot-norms';
import { encodeScaleAdd } from '../scale-add';

export interface SlerpGpuTensor {
  a: GPUBuffer;
  b: GPUBuffer;
  /** Must differ from a and b. */
  out: GPUBuffer;
  elementCount: number;
  params: SlerpParams;
}

/** Record out = weightA·a + weightB·b (two scale-add passes) into encoder. */
export function encodeSlerpCombine(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  tensor: Omit<SlerpGpuTensor, 'params'>,
  coefficients: Pick<SlerpCoefficients, 'weightA' | 'weightB'>,
  opts: EncodeOptions = {},
): void {
  const { a, b, out, elementCount } = tensor;
  if (out === a || out === b) throw new SlerpError('kernels/slerp/index.ts: out must be a different buffer from a and b');
  encodeScaleAdd(device, encoder, out, a, elementCount, 0, coefficients.weightA, opts);
  encodeScaleAdd(device, encoder, out, b, elementCount, 1, coefficients.weightB, opts);
}

/**
 * SLERP every tensor of a batch; resolves once the merge passes are submitted (later
 * work on the queue sees the results). Returns each tensor's coefficients.
 */
export async function slerpGpu(device: GPUDevice, tensors: readonly SlerpGpuTensor[], opts: EncodeOptions = {}): Promise<SlerpCoefficients[]> {
  for (const { a, b, out, params } of tensors) {
    validateSlerpParams(params);
    if (out === a || out === b) throw new SlerpError('kernels/slerp/index.ts: out must be a different buffer from a and b');
  }
  const stats = await dotNormsGpu(device, tensors.map(({ a, b, elementCount }) => ({ x: a, y: b, elementCount })), opts);
  const coefficients = stats.map((s, i) => slerpCoefficients(s, tensors[i]!.params));
  const encoder = device.createCommandEncoder({ label: 'slerp' });
  tensors.forEach((tensor, i) => encodeSlerpCombine(device, encoder, tensor, coefficients[i]!, opts));
  device.queue.submit([encoder.finish()]);
  return coefficients;
}
