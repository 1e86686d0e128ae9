/**
 * Multi-SLERP (mergekit `multislerp`): barycentric interpolation of N models (or of their
 * task vectors around a given base) on the hypersphere: the weighted mean direction, the
 * tangent-space mean through the exponential map, scaled by the weighted mean norm. On the
 * GPU: the pairwise dot products (dot-norms), then scale-add passes. Kernel: src/kernels/spherical.
 */
import { multislerpCoefficients, multislerpMerge, sphericalGpu, type MultislerpParams } from '../../kernels/spherical';
import { defineMethod, type GpuMergeContext, type GpuMerger, optionValue, paramValue, type OptionSpec, type ParamSpec } from '../method';
import type { MergeParamKey, MergeParams } from '../../protocol/settings';
import { NOTHING_TO_FREE } from './common';

const NORMALIZE_WEIGHTS: Extract<OptionSpec, { type: 'boolean' }> = {
  key: 'normalize_weights',
  label: 'Normalize weights',
  help: 'Divide the weights by their sum',
  type: 'boolean',
  default: true,
};
const EPS: ParamSpec = {
  key: 'eps' as MergeParamKey,
  label: 'ε',
  short: 'eps',
  help: 'Small constant for numerical stability (added to norms)',
  type: 'number',
  min: 0,
  max: 0.001,
  step: 1e-9,
  default: 1e-8,
};

const scalars = (p: MergeParams): MultislerpParams => ({ weights: p.weights, normalizeWeights: optionValue(p, NORMALIZE_WEIGHTS), eps: paramValue(p, EPS) });

export const multislerp = defineMethod({
  id: 'multislerp',
  label: 'Multi-SLERP',
  aliases: [],
  params: [EPS],
  options: [NORMALIZE_WEIGHTS],
  needs: { minModels: 2 },
  weighted: true,
  cpu: ({ models, base, out, params }) => {
    multislerpMerge(models, base, out, scalars(params));
  },
  gpu: (ctx) => multislerpGpuMerger(ctx),
});

/**
 * The GPU merger (dot-norms, then scale-add passes; tested against the CPU twin in
 * src/kernels/spherical/spherical.test.ts; the population's GPU-vs-CPU test holds it to the
 * CPU twin with at most 16 bytes read back per model pair and tensor).
 */
export const multislerpGpuMerger = ({ device }: GpuMergeContext): GpuMerger => ({
  kind: 'batched',
  mergeAll: async (jobs) => {
    await sphericalGpu(
      device,
      jobs.map((j) => ({ models: j.models, base: j.base, out: j.out, elementCount: j.size, coefficients: (g, n) => multislerpCoefficients(g, n, scalars(j.params)) })),
    );
  },
  destroy: NOTHING_TO_FREE,
});
