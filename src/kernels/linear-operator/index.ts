/**
 * Linear-operator kernel registration and GPU encoder: merged = Σ_i A_i·W_i over one
 * linear layer, the GPU form of RegMean with fixed Gram matrices (regmean-operators.ts
 * makes the A_i once on the CPU).
 *
 * One pass per model (binding A_i and W_i whole, out at the chunk's range), the first
 * overwriting out, later ones adding; passes run in encoding order. A_i and W_i must
 * each fit one storage binding (in ≤ a few thousand: 64 MiB at in = 4096); out is
 * chunked like any elementwise output.
 */
import { KernelEncodeError, type EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { WORKGROUP_SIZE } from '../shared.wgsl';
import { encodeRanged } from '../task-vector/encode-ranged';
import { linearOperatorCpu, validateLinearOperator, type LinearOperatorLayout } from './linear-operator.cpu';
import { LINEAR_OPERATOR_UNIFORM_BYTES, linearOperatorWgsl } from './linear-operator.wgsl';

export { linearOperatorCpu, validateLinearOperator, type LinearOperatorLayout } from './linear-operator.cpu';
export { linearOperatorWgsl, LINEAR_OPERATOR_UNIFORM_BYTES } from './linear-operator.wgsl';
export { regmeanOperators, type RegMeanOperators } from './regmean-operators';
export type { EncodeOptions } from '../../gpu/elementwise';

const shaderCode = new Map<LinearOperatorLayout, string>();

/** Record out = Σ_i A_i·W_i (in W's stored layout) into encoder. */
export function encodeLinearOperator(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  as: readonly GPUBuffer[],
  ws: readonly GPUBuffer[],
  layout: LinearOperatorLayout,
  inDim: number,
  outDim: number,
  out: GPUBuffer,
  opts: EncodeOptions = {},
): void {
  validateLinearOperator(as.length, ws.length, layout, inDim, outDim);
  if (as.includes(out) || ws.includes(out)) throw new KernelParamsError('linear-operator/index.ts: out must differ from every operator and weight buffer');
  const size = inDim * outDim;
  if (size > 0xffffffff || inDim * inDim > 0xffffffff) throw new KernelParamsError(`linear-operator/index.ts: ${inDim}×${outDim} overflows u32 indices`);
  // Whole bindings: opts.maxBindingBytes only chunks out.
  const maxBinding = device.limits.maxStorageBufferBindingSize;
  for (let i = 0; i < as.length; i++) {
    if (as[i]!.size < inDim * inDim * 4) throw new KernelParamsError(`linear-operator/index.ts: operator ${i} holds ${as[i]!.size} bytes, ${inDim}×${inDim} floats need ${inDim * inDim * 4}`);
    if (ws[i]!.size < size * 4) throw new KernelParamsError(`linear-operator/index.ts: weight ${i} holds ${ws[i]!.size} bytes, ${size} floats need ${size * 4}`);
    if (Math.max(inDim * inDim, size) * 4 > maxBinding) {
      throw new KernelEncodeError(`linear-operator/index.ts: a ${inDim}×${inDim} operator or ${inDim}×${outDim} weight exceeds the ${maxBinding}-byte storage binding limit`);
    }
  }
  let code = shaderCode.get(layout);
  if (!code) {
    code = linearOperatorWgsl(layout, WORKGROUP_SIZE);
    shaderCode.set(layout, code);
  }
  const spec = {
    name: `linear-operator ${layout}`,
    code,
    ranged: ['storage'] as const,
    whole: ['read-only-storage', 'read-only-storage'] as const,
    uniformBytes: LINEAR_OPERATOR_UNIFORM_BYTES,
    workgroupSize: WORKGROUP_SIZE,
  };
  as.forEach((a, i) => {
    encodeRanged(device, encoder, spec, [out], [a, ws[i]!], size, (start, count) =>
      new Uint32Array([count, start, inDim, outDim, i === 0 ? 1 : 0, 0, 0, 0]).buffer, opts);
  });
}

export const linearOperatorKernel = { name: 'linear-operator', cpu: linearOperatorCpu, gpu: encodeLinearOperator } as const;
export default linearOperatorKernel;
