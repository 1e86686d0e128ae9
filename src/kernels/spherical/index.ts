/**
 * Spherical merges on the GPU (nuslerp, multislerp, karcher), twin of spherical.cpu.ts:
 *   1. dot-norms reduces every pair (x̃_i·x̃_j, ‖x̃_i‖², ‖x̃_j‖²) of every tensor on the GPU
 *      (of θ_i − base when a base is given); one read-back of 16 bytes per pair and tensor;
 *   2. the CPU twin's own coefficient function runs on the Gram matrix (f64, µs);
 *   3. without a base scale-add passes, out = c₀θ₀; out += c_iθ_i; with one task arithmetic's
 *      passes, out = base + Σ c_i·(θ_i − base) (see spherical.cpu.ts for why not Σ c_iθ_i + …).
 * One map for the whole batch, as SLERP does; no weight byte crosses the bus.
 */
import type { EncodeOptions } from '../../gpu/elementwise';
import { dotNormsGpu, type DotNormsItem } from '../dot-norms';
import { KernelParamsError } from '../errors';
import { encodeScaleAdd } from '../scale-add';
import { encodeTaskArithmetic } from '../task-vector';
import { combinationWeights, gramFromPairs, gramPairs, type Gram } from './spherical.cpu';

export * from './spherical.cpu';

export interface SphericalGpuTensor {
  models: readonly GPUBuffer[];
  base: GPUBuffer | null;
  /** Must differ from every input. */
  out: GPUBuffer;
  elementCount: number;
  /** The coefficients from the tensor's Gram matrix (a spherical.cpu.ts *Coefficients function). */
  coefficients(gram: Gram, modelCount: number): number[];
}

/** Record out = Σ c_i θ_i as scale-add passes, or with a base out = base + Σ c_i·(θ_i − base) as task arithmetic's. */
export function encodeCombine(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  tensor: Pick<SphericalGpuTensor, 'models' | 'base' | 'out' | 'elementCount'>,
  coefficients: readonly number[],
  opts: EncodeOptions = {},
): void {
  const { models, base, out, elementCount } = tensor;
  const c = combinationWeights(coefficients);
  if (base) encodeTaskArithmetic(device, encoder, models, base, out, elementCount, { weights: c, lambda: 1, normalize: false }, opts);
  else models.forEach((m, i) => encodeScaleAdd(device, encoder, out, m, elementCount, i === 0 ? 0 : 1, c[i]!, opts));
}

/** Merge every tensor of a batch; resolves once the passes are submitted. Returns each tensor's coefficients. */
export async function sphericalGpu(device: GPUDevice, tensors: readonly SphericalGpuTensor[], opts: EncodeOptions = {}): Promise<number[][]> {
  const items: DotNormsItem[] = [];
  for (const t of tensors) {
    if (t.models.length < 1) throw new KernelParamsError('spherical/index.ts: at least one model is needed');
    if (t.models.includes(t.out) || t.out === t.base) throw new KernelParamsError('spherical/index.ts: out must be a different buffer from every input');
    for (const [i, j] of gramPairs(t.models.length)) items.push({ x: t.models[i]!, y: t.models[j]!, base: t.base, elementCount: t.elementCount });
  }
  const stats = items.length > 0 ? await dotNormsGpu(device, items, opts) : [];
  let at = 0;
  const coefficients = tensors.map((t) => {
    const count = gramPairs(t.models.length).length;
    const gram = gramFromPairs(t.models.length, stats.slice(at, at + count));
    at += count;
    return t.coefficients(gram, t.models.length);
  });
  const encoder = device.createCommandEncoder({ label: 'spherical merge' });
  tensors.forEach((t, i) => encodeCombine(device, encoder, t, coefficients[i]!, opts));
  device.queue.submit([encoder.finish()]);
  return coefficients;
}
