/**
 * Applies a merge method to flat parameter vectors on the CPU, tensor by tensor: the
 * registry's entry does each tensor (its `cpu`), with the per-tensor rules applied and the
 * method's data-aware inputs (what its `prepare` returned, e.g. RegMean's Gram matrices).
 */
import type { ParameterLayout } from './layout';
import type { MergeMethodDef } from './method';
import { paramsForTensor } from './param-rules';
import { methodFor } from './registry';
import { type MergeParams } from '../protocol/settings';

export type { RegMeanInputs } from './methods/regmean';
export type { FisherInputs } from './methods/fisher';

export interface FlatMerger {
  /** out ← merge(sources); sources are flat individuals in layout order. */
  mergeInto(out: Float32Array, sources: readonly Float32Array[]): void;
  /** The same merger reading `base`, a copy of its own base (e.g. one in shared memory, where the kernels can split over threads). */
  withBase?(base: Float32Array): FlatMerger;
}

export class CpuMerger implements FlatMerger {
  private readonly method: MergeMethodDef;

  /** inputs: what the method's prepare returned (null for methods without one). */
  constructor(
    private readonly layout: ParameterLayout,
    private readonly params: MergeParams,
    private readonly base: Float32Array | null,
    private readonly inputs: unknown = null,
  ) {
    this.method = methodFor(params.method);
  }

  withBase(base: Float32Array): FlatMerger {
    return this.base ? new CpuMerger(this.layout, this.params, base, this.inputs) : this;
  }

  mergeInto(out: Float32Array, sources: readonly Float32Array[]): void {
    for (const slot of this.layout.slots) {
      const view = (flat: Float32Array) => flat.subarray(slot.offset, slot.offset + slot.size);
      this.method.cpu(
        {
          name: slot.name,
          offset: slot.offset,
          dims: slot.dims,
          params: paramsForTensor(this.params, slot.name, slot.depth),
          models: sources.map(view),
          base: this.base ? view(this.base) : null,
          out: view(out),
        },
        this.inputs,
      );
    }
  }
}
