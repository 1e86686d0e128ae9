/**
 * CMA-ES's candidate set: the original checkpoints merged with a recipe on the CPU (the
 * method's CPU twin, the code one-shot merges on the WASM path run), into one scratch vector
 * whose per-tensor views feed the evaluator. Each recipe has its own settings, while a
 * population's merger is fixed when it is made, so recipes are merged here rather than by the
 * population. Holds the checkpoints' flat vectors, the base's and one output vector.
 */
import { CpuMerger } from '../merge/cpu-merger';
import type { ParameterLayout } from '../merge/layout';
import type { MergeParams } from '../protocol/settings';

export class RecipeScratch {
  private readonly out: Float32Array;
  readonly views: Float32Array[];

  constructor(
    private readonly layout: ParameterLayout,
    private readonly flats: readonly Float32Array[],
    private readonly base: Float32Array | null,
    private readonly inputs: unknown,
  ) {
    this.out = new Float32Array(layout.totalSize);
    this.views = layout.slots.map((s) => this.out.subarray(s.offset, s.offset + s.size));
  }

  /** The scratch ← the checkpoints merged with these settings. */
  load(params: MergeParams): void {
    new CpuMerger(this.layout, params, this.base, this.inputs).mergeInto(this.out, this.flats);
  }

  read(): Float32Array {
    return this.out.slice();
  }
}
