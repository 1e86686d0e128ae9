/**
 * NuSLERP (mergekit `nuslerp`): SLERP of exactly two models, or of their task vectors when a
 * base is given (out = base + slerp(τ₀, τ₁)), at t = w₁ / (w₀ + w₁) from the models' weights.
 * nuslerp_flatten (default) treats each tensor as one vector, on the CPU or the GPU (dot-norms,
 * then scale-add passes); without it each row (the last axis; nuslerp_row_wise: the first)
 * is interpolated on its own, on the CPU. Kernel: src/kernels/spherical.
 */
import { nuslerpCoefficients, nuslerpMerge, sphericalGpu } from '../../kernels/spherical';
import { nuslerpRowsMerge } from '../../kernels/spherical/spherical-rows.cpu';
import { defineMethod, type GpuMergeContext, type GpuMerger, optionValue, type OptionSpec } from '../method';
import type { MergeParams } from '../../protocol/settings';
import { NOTHING_TO_FREE } from './common';

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
  gpu: (ctx) => nuslerpGpuMerger(ctx),
});

/**
 * The GPU merger (dot-norms, then scale-add passes; tested against the CPU twin in
 * src/kernels/spherical/spherical.test.ts; the population's GPU-vs-CPU test holds it to the
 * CPU twin with at most 16 bytes read back per model pair and tensor).
 */
export const nuslerpGpuMerger = ({ device }: GpuMergeContext): GpuMerger => ({
  kind: 'batched',
  mergeAll: async (jobs) => {
    await sphericalGpu(
      device,
      jobs.map((j) => ({ models: j.models, base: j.base, out: j.out, elementCount: j.size, coefficients: (g) => nuslerpCoefficients(g, weightsOf(j.params)) })),
    );
  },
  destroy: NOTHING_TO_FREE,
});
