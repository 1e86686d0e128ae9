/** Model stock (mergekit `model_stock`): the base and the fine-tuned average, weighted by their angle. */
import { modelStock as modelStockCpu } from '../../kernels/model-stock/model-stock.cpu';
import { modelStockGpu } from '../../kernels/model-stock';
import { defineMethod } from '../method';
import { NOTHING_TO_FREE, baseOf } from './common';

export const modelStock = defineMethod({
  id: 'model_stock',
  label: 'model stock',
  aliases: [],
  params: [],
  needs: { base: true, minModels: 2 },
  cpu: (job) => {
    modelStockCpu(baseOf(job, 'model stock'), job.models, {}, job.out);
  },
  gpu: ({ device }) => ({
    kind: 'batched',
    mergeAll: async (jobs) => {
      await modelStockGpu(device, jobs.map((j) => ({ base: j.base!, models: j.models, out: j.out, elementCount: j.size })));
    },
    destroy: NOTHING_TO_FREE,
  }),
});
