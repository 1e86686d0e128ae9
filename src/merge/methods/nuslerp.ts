/**
 * NuSLERP (mergekit `nuslerp`): SLERP of exactly two models, or of their task vectors when a
 * base is given (out = base + slerp(τ₀, τ₁)), at t = w₁ / (w₀ + w₁) from the models' weights.
 * nuslerp_flatten (default) treats each tensor as one vector, on the CPU or the GPU (dot-norms,
 * then scale-add passes); without it each row (the last axis; nuslerp_row_wise: the first)
 * is interpolated on its own, on the CPU. Kernel: src/kernels/spherical.
 */
import { nuslerpCoefficients, nuslerpMerge } from '../../kernels/spherical';
import { nuslerpRowsMerge } from '../../kernels/spherical/spherical-rows.cpu';
import { defineMethod, optionValue, type OptionSpec } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { sphericalGpuMerger } from './spherical-gpu';

const FLATTEN: Extract<OptionSpec, { type: 'boolean' }> = {
  key: 'nuslerp_flatten',
  label: 'Flatten',
  help: 'Interpolate each tensor as one vector (off: each row on its own)',
  type: 'boolean',
  default: true,
};
const ROW_WISE: Extract<OptionSpec, { type: 'boolean' }> = {
  key: 'nuslerp_row_wise',
  label: 'Row-wise',
  help: 'Without flatten: interpolate along the first axis (columns of a matrix) instead of the last (rows)',
  type: 'boolean',
  default: false,
};

const flattened = (p: MergeParams) => optionValue(p, FLATTEN);
const weightsOf = (p: MergeParams) => ({ weights: p.weights ?? [1, 1] });

export const nuslerp = defineMethod({
  id: 'nuslerp',
  label: 'NuSLERP',
  aliases: [],
  params: [],
  options: [FLATTEN, ROW_WISE],
  needs: { models: 2 },
  weighted: true,
  cpu: ({ models, base, out, params, dims }) => {
    if (flattened(params)) nuslerpMerge(models, base, out, weightsOf(params));
    else nuslerpRowsMerge(models, base, out, dims ?? [out.length], optionValue(params, ROW_WISE), weightsOf(params));
  },
  gpuInputs: (_inputs, _layout, params) => (flattened(params) ? {} : null),
  // The GPU merger every spherical method shares (spherical-gpu.ts), with this method's coefficients.
  gpu: sphericalGpuMerger(true, (params) => (g) => nuslerpCoefficients(g, weightsOf(params))),
});
