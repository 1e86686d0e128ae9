/**
 * RegMean: each linear layer's weights merged by the least-squares solution over the
 * checkpoints' input Gram matrices (captured once per checkpoint from the dev split);
 * every other tensor is averaged, as the paper does. On the GPU, with the Grams fixed for
 * the run, a layer's merge is the linear operator Σ A_i·W_i, A_i = (ΣG̃)⁻¹G̃_i.
 */
import type { LinearLayer } from '../../formats/onnx-outputs';
import { findLinearLayers } from '../../formats/onnx-outputs';
import { computeGramMatrices } from '../../eval/gram';
import { regmeanMerge } from '../../kernels/linear-operator/regmean.cpu';
import { encodeLinearOperator, regmeanOperators } from '../../kernels/linear-operator';
import { encodeLinear } from '../../kernels/task-vector';
import { linearMerge } from '../../kernels/task-vector/linear.cpu';
import { defineMethod, paramValue, type ParamSpec } from '../method';
import { paramsForTensor } from '../param-rules';
import { uploadByName } from './upload';

export interface RegMeanInputs {
  layers: Map<string, LinearLayer>;
  /** grams[i] = Gram matrices of source i, by weight name. */
  grams: Map<string, Float64Array>[];
}

export interface RegMeanGpuInputs {
  layers: Map<string, LinearLayer>;
  /** Per weight name, one operator A_i per population slot. */
  operators: Map<string, Float32Array[]>;
}

const ALPHA: ParamSpec = {
  key: 'alpha',
  label: 'α',
  help: 'Off-diagonal shrink of the Gram matrices (1 = plain RegMean)',
  type: 'number',
  min: 0,
  max: 1,
  step: 0.05,
  default: 0.9,
  perTensor: true,
};

export const regmean = defineMethod<RegMeanInputs, RegMeanGpuInputs>({
  id: 'regmean',
  label: 'RegMean',
  aliases: [],
  params: [ALPHA],
  needs: { devData: true },
  /** Gram matrices of every evolved linear layer's inputs, per checkpoint, on the dev split (padding masked). */
  async prepare({ checkpoints, layout, dev, onPhase }) {
    const evolved = new Set(layout.slots.map((s) => s.name));
    const first = checkpoints[0]!;
    const all = findLinearLayers(first.bytes, first.model, first.name).filter((l) => evolved.has(l.weightName));
    const grams: Map<string, Float64Array>[] = [];
    for (const [i, c] of checkpoints.entries()) {
      onPhase(`RegMean: Gram matrices of ${c.name} (${i + 1}/${checkpoints.length})`);
      grams.push(await computeGramMatrices(c.bytes, all, dev, { fileName: c.name }));
    }
    return { layers: new Map(all.map((l) => [l.weightName, l])), grams };
  },
  // Null when a solve needed a ridge: the operator form would pull those directions to zero
  // where regmeanMerge keeps the average, so that run stays on the CPU.
  gpuInputs(inputs, layout, params) {
    const operators = new Map<string, Float32Array[]>();
    for (const slot of layout.slots) {
      const layer = inputs.layers.get(slot.name);
      if (!layer) continue;
      const alpha = paramValue(paramsForTensor(params, slot.name, slot.depth), ALPHA);
      const result = regmeanOperators(inputs.grams.map((g) => g.get(slot.name)!), layer.inDim, alpha);
      if (result.ridge > 0) return null;
      operators.set(slot.name, result.operators);
    }
    return { layers: inputs.layers, operators };
  },
  cpu({ name, models, out, params }, inputs) {
    const layer = inputs?.layers.get(name);
    if (!inputs || !layer) return linearMerge(models, out);
    const grams = inputs.grams.map((g) => g.get(name)!);
    out.set(regmeanMerge(models, grams, layer.layout, layer.inDim, layer.outDim, paramValue(params, ALPHA)).merged);
  },
  gpu({ device, inputs }) {
    const layers = inputs?.layers ?? new Map<string, LinearLayer>();
    const uploaded = uploadByName(device, 'regmean A', inputs?.operators ?? new Map());
    return {
      kind: 'encoder',
      encode(encoder, j) {
        const operators = uploaded.buffers.get(j.name);
        if (!operators) return encodeLinear(device, encoder, j.models, j.out, j.size);
        if (operators.length !== j.models.length) throw new Error('RegMean merges the loaded checkpoints only (its Gram matrices belong to them).');
        const layer = layers.get(j.name)!;
        encodeLinearOperator(device, encoder, operators, j.models, layer.layout, layer.inDim, layer.outDim, j.out);
      },
      destroy: () => uploaded.destroy(),
    };
  },
});
