/**
 * Fisher merging: per-element weights from each checkpoint's empirical Fisher. The exact
 * Fisher exists only for the classifier head (onnxruntime-web has no gradients for other
 * layers; see eval/fisher.ts), so every other tensor is averaged, and the label says so.
 */
import { NotReadyError } from '../../protocol/errors';
import { computeHeadFisher, findHeadLayer, fisherWeightedMerge } from '../../eval/fisher';
import { createFisherScratch, encodeFisherMerge } from '../../kernels/fisher-merge';
import { encodeLinear } from '../../kernels/task-vector';
import { linearMerge } from '../../kernels/task-vector/linear.cpu';
import { defineMethod } from '../method';
import { getTask } from '../../eval/tasks/registry';
import { SEQUENCE_CLASSIFICATION } from '../../eval/tasks/ids';
import { uploadByName } from './upload';

/** fishers[i] = per-element diagonal Fisher of source i, by tensor name (tensors without one are averaged). */
export interface FisherInputs {
  fishers: Map<string, Float64Array>[];
}

export const fisher = defineMethod<FisherInputs, Map<string, Float32Array[]>>({
  id: 'fisher',
  label: 'Fisher (head only; other tensors averaged)',
  aliases: [],
  params: [],
  needs: { devData: true },
  /** Head-only empirical Fisher per checkpoint on the dev split; refuses architectures without a linear head. */
  async prepare({ checkpoints, layout, dev, onPhase }) {
    const first = checkpoints[0]!;
    // The head's empirical Fisher is the gradient of a class log-likelihood: classifiers only.
    if (dev.task !== SEQUENCE_CLASSIFICATION) {
      throw new NotReadyError(`Fisher merging is available for sequence classification only; ${first.name} is scored as ${getTask(dev.task).label.toLowerCase()}. Pick another merger (RegMean also uses the dev data).`);
    }
    const head = findHeadLayer(first.bytes, first.model, first.name);
    if (!head) {
      throw new NotReadyError(`Fisher is unavailable for ${first.name}: no linear layer writes the graph output, and onnxruntime-web has no gradients for other layers.`);
    }
    const evolved = new Set(layout.slots.map((s) => s.name));
    const fishers: Map<string, Float64Array>[] = [];
    for (const [i, c] of checkpoints.entries()) {
      onPhase(`Fisher: head gradients of ${c.name} (${i + 1}/${checkpoints.length})`);
      const f = await computeHeadFisher(c.bytes, head, dev, c.name);
      const map = new Map<string, Float64Array>();
      if (evolved.has(head.weightName)) map.set(head.weightName, f.weight);
      if (head.biasName && f.bias && evolved.has(head.biasName)) map.set(head.biasName, f.bias);
      fishers.push(map);
    }
    return { fishers };
  },
  gpuInputs(inputs) {
    const names = new Set(inputs.fishers.flatMap((f) => [...f.keys()]));
    return new Map([...names].map((name) => [name, inputs.fishers.map((f) => Float32Array.from(f.get(name)!))]));
  },
  cpu({ name, models, out }, inputs) {
    const fishers = inputs?.fishers.map((f) => f.get(name));
    if (!fishers || fishers.some((f) => !f)) return linearMerge(models, out);
    fisherWeightedMerge(models, fishers as Float64Array[], out);
  },
  gpu({ device, largest, inputs }) {
    const uploaded = uploadByName(device, 'fisher', inputs ?? new Map());
    const scratch = inputs && inputs.size > 0 ? createFisherScratch(device, largest) : null;
    return {
      kind: 'encoder',
      encode(encoder, j) {
        const fishers = uploaded.buffers.get(j.name);
        if (!fishers) return encodeLinear(device, encoder, j.models, j.out, j.size);
        if (fishers.length !== j.models.length) throw new Error('Fisher merges the loaded checkpoints only (its Fisher weights belong to them).');
        encodeFisherMerge(device, encoder, j.models, fishers, j.out, j.size, scratch!);
      },
      destroy() {
        uploaded.destroy();
        scratch?.destroy();
      },
    };
  },
});
