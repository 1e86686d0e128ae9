/**
 * Karcher mean (mergekit `karcher`): the Riemannian mean of the models' directions on the
 * hypersphere by fixed-point iteration (max_iter, tol), equal weights as mergekit, scaled by
 * the mean norm. A base, if given, is not read (mergekit counts it as one more model). On the
 * GPU: the pairwise dot products (dot-norms), then scale-add passes. Kernel: src/kernels/spherical.
 */
import { karcherCoefficients, karcherMerge, type KarcherParams } from '../../kernels/spherical';
import { defineMethod, paramValue, type ParamSpec } from '../method';
import type { MergeParamKey, MergeParams } from '../../protocol/settings';
import { sphericalGpuMerger } from './spherical-gpu';

const MAX_ITER: ParamSpec = {
  key: 'max_iter' as MergeParamKey,
  label: 'Max iterations',
  short: 'max_iter',
  help: 'Most fixed-point iterations of the Karcher mean',
  type: 'integer',
  min: 0,
  max: 1000,
  step: 1,
  default: 10,
};
const TOL: ParamSpec = {
  key: 'tol' as MergeParamKey,
  label: 'Tolerance',
  short: 'tol',
  help: 'Convergence tolerance (also the norm below which a model counts as zero)',
  type: 'number',
  min: 0,
  max: 0.1,
  step: 1e-6,
  default: 1e-5,
};

const scalars = (p: MergeParams): KarcherParams => ({ maxIter: paramValue(p, MAX_ITER), tol: paramValue(p, TOL) });

export const karcher = defineMethod({
  id: 'karcher',
  label: 'Karcher mean',
  aliases: [],
  params: [MAX_ITER, TOL],
  needs: { minModels: 2 },
  cpu: ({ models, out, params }) => {
    karcherMerge(models, out, scalars(params));
  },
  // The GPU merger every spherical method shares (spherical-gpu.ts), with this method's coefficients.
  gpu: sphericalGpuMerger(false, (params) => (g, n) => karcherCoefficients(g, n, scalars(params))),
});
