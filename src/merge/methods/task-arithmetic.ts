/** Task arithmetic (mergekit `task_arithmetic`): out = base + λ·Σ w_i (θ_i − base). */
import { taskArithmeticMerge } from '../../kernels/task-vector/task-arithmetic.cpu';
import { encodeTaskArithmetic } from '../../kernels/task-vector';
import { defineMethod, paramValue } from '../method';
import { LAMBDA, NOTHING_TO_FREE, baseOf } from './common';

export const taskArithmetic = defineMethod({
  id: 'task_arithmetic',
  label: 'task arithmetic',
  aliases: [],
  params: [LAMBDA],
  needs: { base: true },
  weighted: true,
  cpu: (job) => taskArithmeticMerge(job.models, baseOf(job, 'task arithmetic'), job.out, { lambda: paramValue(job.params, LAMBDA), weights: job.params.weights }),
  gpu: ({ device }) => ({
    kind: 'encoder',
    encode: (encoder, j) =>
      encodeTaskArithmetic(device, encoder, j.models, j.base!, j.out, j.size, { lambda: paramValue(j.params, LAMBDA), weights: j.params.weights }),
    destroy: NOTHING_TO_FREE,
  }),
});
