/**
 * WASM/TS path: each individual is one flat Float32Array; tensors are subarray views,
 * so the DE step runs as one tight loop over the whole individual.
 */
import { deTrialCpu, type DeRoles } from '../kernels/de-step/de-step.cpu';
import { kinshipMomentsCpu, type KinshipMoments } from '../kernels/kinship/kinship.cpu';
import type { FlatMerger } from '../merge/cpu-merger';
import type { ParameterLayout } from '../merge/layout';
import { kinshipPairsOf, occupySlot, meanOf, type KinshipReference, type MutationParams, type PopulationStore, type WeightHandle } from './population';
import { type WeightSetId } from '../protocol/results';

interface FlatSet {
  flat: Float32Array;
  views: Float32Array[];
}

function makeSet(layout: ParameterLayout, flat: Float32Array): FlatSet {
  return { flat, views: layout.slots.map((s) => flat.subarray(s.offset, s.offset + s.size)) };
}

export class CpuPopulation implements PopulationStore {
  readonly path = 'wasm' as const;
  private readonly individuals: (FlatSet | null)[];
  private candidate: FlatSet;
  private readonly merged: FlatSet;
  /** Kinship reference when there is no base: the checkpoints' mean as loaded. */
  private readonly initialMean: Float32Array;

  constructor(
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
    private readonly merger: FlatMerger,
    private readonly base: Float32Array | null = null,
  ) {
    this.individuals = initial.map((flat) => makeSet(layout, flat.slice()));
    this.candidate = makeSet(layout, new Float32Array(layout.totalSize));
    this.merged = makeSet(layout, new Float32Array(layout.totalSize));
    this.initialMean = meanOf(initial);
  }

  get size(): number {
    return this.individuals.length;
  }

  get hasBase(): boolean {
    return this.base !== null;
  }

  trial(roles: DeRoles<number>, p: MutationParams): void {
    const flat = (i: number) => this.individual(i).flat;
    deTrialCpu({ target: flat(roles.target), base: flat(roles.base), plus: flat(roles.plus), minus: flat(roles.minus) }, this.candidate.flat, {
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
      this.individuals.map((_, i) => (i === replace ? this.candidate.flat : this.individual(i).flat)),
    );
  }

  async mergeInto(sources: readonly WeightSetId[], into: WeightSetId): Promise<void> {
    const out = this.set(into).flat;
    const flats = sources.map((id) => this.set(id).flat);
    if (flats.includes(out)) throw new Error('cpu-population.ts: mergeInto cannot write one of its sources');
    this.merger.mergeInto(out, flats);
  }

  accept(target: number): void {
    const previous = this.individual(target);
    this.individuals[target] = this.candidate;
    this.candidate = previous;
  }

  allocate(): number {
    return occupySlot(this.individuals, makeSet(this.layout, new Float32Array(this.layout.totalSize)));
  }

  release(index: number): void {
    this.individual(index);
    this.individuals[index] = null;
  }

  async kinshipMoments(sets: readonly WeightSetId[], reference: KinshipReference): Promise<KinshipMoments[][]> {
    const ref = reference === 'base' ? this.base : this.initialMean;
    if (!ref) throw new Error('cpu-population.ts: kinship against the base needs a base checkpoint');
    return kinshipPairsOf(sets).map(([a, b]) => {
      const [x, y] = [this.set(a).flat, this.set(b).flat];
      return this.layout.slots.map((s) => {
        const view = (flat: Float32Array) => flat.subarray(s.offset, s.offset + s.size);
        return kinshipMomentsCpu(view(x), view(y), view(ref));
      });
    });
  }

  private individual(index: number): FlatSet {
    const set = this.individuals[index];
    if (!set) throw new Error(`cpu-population.ts: individual ${index} does not exist or was released`);
    return set;
  }

  private set(id: WeightSetId): FlatSet {
    if (id === 'candidate') return this.candidate;
    if (id === 'merged') return this.merged;
    return this.individual(id);
  }

  handles(id: WeightSetId): WeightHandle[] {
    return this.set(id).views;
  }

  async read(id: WeightSetId): Promise<Float32Array> {
    return this.set(id).flat.slice();
  }

  dispose(): void {}
}
