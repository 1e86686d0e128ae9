/**
 * The GPU merger every spherical method shares (dot-norms, then scale-add passes, in one
 * batch per merge): only the coefficients from each tensor's Gram matrix differ. Tested
 * against the CPU twins in src/kernels/spherical/spherical.test.ts; the population's
 * GPU-vs-CPU test holds each method to its twin with at most 16 bytes read back per model
 * pair and tensor.
 */
import { sphericalGpu, type SphericalGpuTensor } from '../../kernels/spherical';
import type { GpuMergeContext, GpuMerger } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { NOTHING_TO_FREE } from './common';

/** readsBase: whether the method takes the base (as the origin of its directions); coefficientsFor: per tensor, from its params. */
export function sphericalGpuMerger(readsBase: boolean, coefficientsFor: (params: MergeParams) => SphericalGpuTensor['coefficients']): (ctx: GpuMergeContext) => GpuMerger {
  return ({ device }) => ({
    kind: 'batched',
    mergeAll: async (jobs) => {
      await sphericalGpu(
        device,
        jobs.map((j) => ({ models: j.models, base: readsBase ? j.base : null, out: j.out, elementCount: j.size, coefficients: coefficientsFor(j.params) })),
      );
    },
    destroy: NOTHING_TO_FREE,
  });
}
