/**
 * Model stock (mergekit `model_stock`): the base and the fine-tuned average, weighted by their
 * angle; filter_wise (off by default, as mergekit) takes one angle per vector along the last
 * axis, on the CPU (the GPU twin computes one per tensor).
 */
import { modelStock as modelStockCpu, modelStockFilterWise } from '../../kernels/model-stock/model-stock.cpu';
import { modelStockGpu } from '../../kernels/model-stock';
import { defineMethod, optionValue, type OptionSpec } from '../method';
import { NOTHING_TO_FREE, baseOf } from './common';

const FILTER_WISE: Extract<OptionSpec, { type: 'boolean' }> = {
  key: 'filter_wise',
  label: 'Filter-wise',
  help: 'One angle per vector along the last axis (per output row) instead of one per tensor',
  type: 'boolean',
  default: false,
};

export const modelStock = defineMethod({
  id: 'model_stock',
  label: 'model stock',
  aliases: [],
  params: [],
  options: [FILTER_WISE],
  needs: { base: true, minModels: 2 },
  cpu: (job) => {
    const base = baseOf(job, 'model stock');
    if (optionValue(job.params, FILTER_WISE)) modelStockFilterWise(base, job.models, job.dims?.at(-1) ?? base.length, job.out);
    else modelStockCpu(base, job.models, {}, job.out);
  },
  gpuInputs: (_inputs, _layout, params) => (optionValue(params, FILTER_WISE) ? null : {}),
  gpu: ({ device }) => ({
    kind: 'batched',
    mergeAll: async (jobs) => {
      await modelStockGpu(device, jobs.map((j) => ({ base: j.base!, models: j.models, out: j.out, elementCount: j.size })));
    },
    destroy: NOTHING_TO_FREE,
  }),
});
