/**
 * Applies a merge method to flat parameter vectors on the CPU, tensor by tensor
 * (engine/methods/* are per-tensor). RegMean uses each linear layer's Gram
 * matrices (captured once per checkpoint from the dev set) and averages every
 * other tensor, as the paper does.
 */
import { linearMerge } from '../kernels/task-vector/linear.cpu';
import { taskArithmeticMerge } from '../kernels/task-vector/task-arithmetic.cpu';
import { tiesMerge } from '../kernels/task-vector/ties.cpu';
import { dareMerge } from '../kernels/task-vector/dare.cpu';
import { slerp } from '../kernels/slerp/slerp.cpu';
import { modelStock } from '../kernels/model-stock/model-stock.cpu';
import { regmeanMerge } from '../kernels/linear-operator/regmean.cpu';
import { fisherWeightedMerge } from '../eval/fisher';
import type { LinearLayer } from '../formats/onnx-outputs';
import type { ParameterLayout } from './layout';
import { paramsForTensor } from './params';
import { type MergeParams } from '../protocol/settings';

export interface RegMeanInputs {
  layers: Map<string, LinearLayer>;
  /** grams[i] = Gram matrices of source i, by weight name. */
  grams: Map<string, Float64Array>[];
}

/** fishers[i] = per-element diagonal Fisher of source i, by tensor name (tensors without one are averaged). */
export interface FisherInputs {
  fishers: Map<string, Float64Array>[];
}

export interface FlatMerger {
  /** out ← merge(sources); sources are flat individuals in layout order. */
  mergeInto(out: Float32Array, sources: readonly Float32Array[]): void;
}

export class CpuMerger implements FlatMerger {
  constructor(
    private readonly layout: ParameterLayout,
    private readonly params: MergeParams,
    private readonly base: Float32Array | null,
    private readonly regmean: RegMeanInputs | null = null,
    private readonly fisher: FisherInputs | null = null,
  ) {}

  mergeInto(out: Float32Array, sources: readonly Float32Array[]): void {
    for (const slot of this.layout.slots) {
      const view = (flat: Float32Array) => flat.subarray(slot.offset, slot.offset + slot.size);
      const params = paramsForTensor(this.params, slot.name, slot.depth);
      this.mergeTensor(slot.name, slot.offset, params, view(out), sources.map(view), this.base ? view(this.base) : null);
    }
  }

  private mergeTensor(name: string, offset: number, p: MergeParams, out: Float32Array, models: Float32Array[], base: Float32Array | null): void {
    const needBase = (): Float32Array => {
      if (!base) throw new Error(`${p.method} needs a base checkpoint.`);
      return base;
    };
    switch (p.method) {
      case 'average':
        return linearMerge(models, out, { weights: p.weights });
      case 'task_arithmetic':
        return taskArithmeticMerge(models, needBase(), out, { lambda: p.lambda, weights: p.weights });
      case 'ties':
        return tiesMerge(models, needBase(), out, { density: p.density, lambda: p.lambda, weights: p.weights });
      case 'dare_linear':
      case 'dare_ties':
        return dareMerge(models, needBase(), out, {
          density: p.density,
          lambda: p.lambda,
          seed: p.seed,
          weights: p.weights,
          offset,
          consensus: p.method === 'dare_ties' ? 'ties' : 'none',
        });
      case 'slerp':
        slerp(models[0], models[1], { t: p.t }, out);
        return;
      case 'model_stock':
        modelStock(needBase(), models, {}, out);
        return;
      case 'fisher': {
        const fishers = this.fisher?.fishers.map((f) => f.get(name));
        if (!fishers || fishers.some((f) => !f)) return linearMerge(models, out);
        return fisherWeightedMerge(models, fishers as Float64Array[], out);
      }
      case 'regmean': {
        const layer = this.regmean?.layers.get(name);
        if (!layer) return linearMerge(models, out);
        const grams = this.regmean!.grams.map((g) => g.get(name)!);
        out.set(regmeanMerge(models, grams, layer.layout, layer.inDim, layer.outDim, p.alpha).merged);
        return;
      }
    }
  }
}
