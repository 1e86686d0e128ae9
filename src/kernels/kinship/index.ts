/**
 * Kinship kernel registration and GPU encoder: the six moments of two tensors' task
 * vectors (kinship.cpu.ts), reduced on the GPU by the shared tiled reduction; a batch
 * (every pair of models × every tensor) is read back with one map, 32 bytes per item.
 * The host widens the f32 sums to numbers and adds them across tensors in f64.
 */
import { encodeReduction, runReductions, type EncodeReductionParams, type ReductionKernelSpec } from '../reduction/index';
import type { EncodeOptions } from '../../gpu/elementwise';
import { kinshipMomentsCpu, type KinshipMoments } from './kinship.cpu';
import { KINSHIP_LANES, kinshipMomentsWgsl } from './kinship.wgsl';

export { addMoments, kinshipMomentsCpu, ZERO_MOMENTS, type KinshipMoments } from './kinship.cpu';
export { KINSHIP_LANES, kinshipMomentsWgsl } from './kinship.wgsl';

export interface KinshipItem {
  x: GPUBuffer;
  y: GPUBuffer;
  /** Task vectors are taken against this tensor when given (else against 0). */
  reference?: GPUBuffer | null;
  elementCount: number;
}

const codes = new Map<boolean, string>();

function spec(withReference: boolean): ReductionKernelSpec {
  let code = codes.get(withReference);
  if (!code) codes.set(withReference, (code = kinshipMomentsWgsl(withReference)));
  return { name: withReference ? 'kinship (reference)' : 'kinship', code, lanes: KINSHIP_LANES };
}

function inputsOf(item: KinshipItem): GPUBuffer[] {
  return item.reference ? [item.x, item.y, item.reference] : [item.x, item.y];
}

/** The moments from one result partial (two vec4 lanes). */
export function momentsFromPartial(raw: Float32Array, n: number): KinshipMoments {
  return { n, sumA: raw[0]!, sumB: raw[1]!, sumAB: raw[2]!, sumAA: raw[3]!, sumBB: raw[4]!, sumDD: raw[5]! };
}

/** Record one reduction; its two-lane result lands at results[resultIndex]. */
export function encodeKinship(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  item: KinshipItem & Omit<EncodeReductionParams, 'inputs' | 'elementCount'>,
  opts: EncodeOptions = {},
): void {
  encodeReduction(device, encoder, spec(!!item.reference), { ...item, inputs: inputsOf(item) }, opts);
}

/** A batch of kinship reductions: one submit, one read-back of 32 bytes per item. */
export async function kinshipMomentsGpu(device: GPUDevice, items: readonly KinshipItem[], opts: EncodeOptions = {}): Promise<KinshipMoments[]> {
  const raw = await runReductions(device, items.map((item) => ({ spec: spec(!!item.reference), inputs: inputsOf(item), elementCount: item.elementCount })), opts);
  return raw.map((r, i) => momentsFromPartial(r, items[i]!.elementCount));
}

export const kinshipKernel = { name: 'kinship', cpu: kinshipMomentsCpu, gpu: encodeKinship } as const;
export default kinshipKernel;
