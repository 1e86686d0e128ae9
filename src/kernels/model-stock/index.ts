/**
 * Model stock on the GPU: the twin of src/engine/methods/model-stock.ts, built from two
 * kernels.
 *
 * 1. dot-norms reduces (τ_i·τ_j, ‖τ_i‖², ‖τ_j‖²) for every pair i < j of every tensor,
 *    with τ = θ − θ_0 formed on the fly (no task-vector copies in GPU memory); one
 *    read-back of 16 bytes per pair per tensor (never the weights).
 * 2. modelStockCoefficients (the CPU twin's own function) gives t per tensor.
 * 3. N + 1 scale-add passes per tensor: out = (1 − t)·θ_0; out += (t/N)·θ_i.
 * N(N − 1)/2 reductions read 3 tensors each: fine for the few models a merge takes.
 */
import { type EncodeOptions } from '../../gpu/elementwise';
import {
  modelStockCoefficients,
  ModelStockError,
  modelStockPairs,
  validateModelStockParams,
  type ModelStockCoefficients,
  type ModelStockParams,
} from './model-stock.cpu';
import { dotNormsGpu, type DotNormsItem } from '../dot-norms';
import { encodeScaleAdd } from '../scale-add';

export interface ModelStockGpuTensor {
  base: GPUBuffer;
  /** The N ≥ 2 fine-tuned tensors. */
  models: readonly GPUBuffer[];
  /** Must differ from the base and every model. */
  out: GPUBuffer;
  elementCount: number;
}

function checkOut(tensor: ModelStockGpuTensor): void {
  if (tensor.out === tensor.base || tensor.models.includes(tensor.out)) {
    throw new ModelStockError('kernels/model-stock/index.ts: out must be a different buffer from the base and the models');
  }
}

/** Record out = weightBase·θ_0 + weightModel·Σ θ_i (N + 1 scale-add passes) into encoder. */
export function encodeModelStockCombine(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  tensor: ModelStockGpuTensor,
  coefficients: Pick<ModelStockCoefficients, 'weightBase' | 'weightModel'>,
  opts: EncodeOptions = {},
): void {
  checkOut(tensor);
  const { base, models, out, elementCount } = tensor;
  encodeScaleAdd(device, encoder, out, base, elementCount, 0, coefficients.weightBase, opts);
  for (const m of models) encodeScaleAdd(device, encoder, out, m, elementCount, 1, coefficients.weightModel, opts);
}

/**
 * Model stock of every tensor of a batch; resolves once the merge passes are submitted.
 * Returns each tensor's coefficients (cosines, t).
 */
export async function modelStockGpu(
  device: GPUDevice,
  tensors: readonly ModelStockGpuTensor[],
  params: ModelStockParams = {},
  opts: EncodeOptions = {},
): Promise<ModelStockCoefficients[]> {
  validateModelStockParams(params);
  const items: DotNormsItem[] = [];
  const pairCounts: number[] = [];
  for (const tensor of tensors) {
    checkOut(tensor);
    const pairs = modelStockPairs(tensor.models.length);
    pairCounts.push(pairs.length);
    for (const [i, j] of pairs) items.push({ x: tensor.models[i]!, y: tensor.models[j]!, base: tensor.base, elementCount: tensor.elementCount });
  }
  const stats = await dotNormsGpu(device, items, opts);
  let next = 0;
  const coefficients = tensors.map((tensor, k) => {
    const pairStats = stats.slice(next, next + pairCounts[k]!);
    next += pairCounts[k]!;
    return modelStockCoefficients(pairStats, tensor.models.length, params);
  });
  const encoder = device.createCommandEncoder({ label: 'model-stock' });
  tensors.forEach((tensor, k) => encodeModelStockCombine(device, encoder, tensor, coefficients[k]!, opts));
  device.queue.submit([encoder.finish()]);
  return coefficients;
}
