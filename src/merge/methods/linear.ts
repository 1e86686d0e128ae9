/** Linear merge (mergekit `linear`, the studio's "average"): out = Σ w_i θ_i / Σ w_i, no base. */
import { linearMerge } from '../../kernels/task-vector/linear.cpu';
import { encodeLinear } from '../../kernels/task-vector';
import { defineMethod } from '../method';
import { NOTHING_TO_FREE } from './common';

export const linear = defineMethod({
  id: 'linear',
  label: 'simple average',
  aliases: ['average', 'avg'],
  params: [],
  needs: {},
  weighted: true,
  cpu: ({ models, out, params }) => linearMerge(models, out, { weights: params.weights }),
  gpu: ({ device }) => ({
    kind: 'encoder',
    encode: (encoder, j) => encodeLinear(device, encoder, j.models, j.out, j.size, { weights: j.params.weights }),
    destroy: NOTHING_TO_FREE,
  }),
});
