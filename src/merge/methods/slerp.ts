/**
 * SLERP (mergekit `slerp`) of exactly two models; on the GPU a batched pass reads each
 * tensor's dot products first. With a base, the base is the t = 0 side and exactly one
 * other model the t = 1 side, as mergekit's base_model.
 */
import { slerp as slerpCpu } from '../../kernels/slerp/slerp.cpu';
import { slerpGpu } from '../../kernels/slerp';
import { defineMethod, paramValue, type ParamSpec } from '../method';
import { NOTHING_TO_FREE } from './common';

const T: ParamSpec = { key: 't', label: 't', help: 'Interpolation factor: 0 = the first model (the base, when one is given), 1 = the other', type: 'number', min: 0, max: 1, step: 0.05, default: 0.5, perTensor: true };

export const slerp = defineMethod({
  id: 'slerp',
  label: 'SLERP',
  aliases: [],
  params: [T],
  needs: { models: 2 },
  baseAsModel: 'first',
  cpu: ({ models, out, params }) => {
    slerpCpu(models[0]!, models[1]!, { t: paramValue(params, T) }, out);
  },
  gpu: ({ device }) => ({
    kind: 'batched',
    mergeAll: async (jobs) => {
      await slerpGpu(device, jobs.map((j) => ({ a: j.models[0]!, b: j.models[1]!, out: j.out, elementCount: j.size, params: { t: paramValue(j.params, T) } })));
    },
    destroy: NOTHING_TO_FREE,
  }),
});
