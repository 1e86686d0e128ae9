/**
 * Multi-SLERP (mergekit `multislerp`): barycentric interpolation of N models (or of their
 * task vectors around a given base) on the hypersphere: the weighted mean direction, the
 * tangent-space mean through the exponential map, scaled by the weighted mean norm. On the
 * GPU: the pairwise dot products (dot-norms), then scale-add passes. Kernel: src/kernels/spherical.
 */
import { multislerpCoefficients, multislerpMerge, type MultislerpParams } from '../../kernels/spherical';
import { defineMethod, optionValue, paramValue, type OptionSpec, type ParamSpec } from '../method';
import type { MergeParamKey, MergeParams } from '../../protocol/settings';
import { sphericalGpuMerger } from './spherical-gpu';

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
  // The GPU merger every spherical method shares (spherical-gpu.ts), with this method's coefficients.
  gpu: sphericalGpuMerger(true, (params) => (g, n) => multislerpCoefficients(g, n, scalars(params))),
});
