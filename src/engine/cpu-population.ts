/**
 * WASM/TS path (and every merger without WebGPU wiring yet): each individual is one flat Float32Array; tensors are subarray
 * views, so the DE step runs as one tight loop over the whole individual.
 */
import { deStepCpu } from '../kernels/de-step/de-step.cpu';
import type { FlatMerger } from './cpu-merger';
import type { ParameterLayout } from './layout';
import type { MutationParams, PopulationStore, WeightHandle, WeightSetId } from './population';

interface FlatSet {
  flat: Float32Array;
  views: Float32Array[];
}

function makeSet(layout: ParameterLayout, flat: Float32Array): FlatSet {
  return { flat, views: layout.slots.map((s) => flat.subarray(s.offset, s.offset + s.size)) };
}

export class CpuPopulation implements PopulationStore {
  readonly path = 'wasm' as const;
  private readonly individuals: FlatSet[];
  private candidate: FlatSet;
  private readonly merged: FlatSet;

  constructor(
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
    private readonly merger: FlatMerger,
  ) {
    this.individuals = initial.map((flat) => makeSet(layout, flat.slice()));
    this.candidate = makeSet(layout, new Float32Array(layout.totalSize));
    this.merged = makeSet(layout, new Float32Array(layout.totalSize));
  }

  get size(): number {
    return this.individuals.length;
  }

  mutate(target: number, donor: number, p: MutationParams): void {
    deStepCpu(this.individuals[target].flat, this.individuals[donor].flat, this.candidate.flat, {
      f: p.f,
      cr: p.cr,
      seed: p.seed,
      stream: p.stream,
      offset: 0,
      jRand: p.jRand,
    });
  }

  async merge(replace: number | null): Promise<void> {
    this.merger.mergeInto(
      this.merged.flat,
      this.individuals.map((ind, i) => (i === replace ? this.candidate.flat : ind.flat)),
    );
  }

  accept(target: number): void {
    const previous = this.individuals[target];
    this.individuals[target] = this.candidate;
    this.candidate = previous;
  }

  private set(id: WeightSetId): FlatSet {
    if (id === 'candidate') return this.candidate;
    if (id === 'merged') return this.merged;
    return this.individuals[id];
  }

  handles(id: WeightSetId): WeightHandle[] {
    return this.set(id).views;
  }

  async read(id: WeightSetId): Promise<Float32Array> {
    return this.set(id).flat.slice();
  }

  dispose(): void {}
}
