/**
 * WASM/TS path: each individual is one flat Float32Array; tensors are subarray views,
 * so the DE step runs as one tight loop over the whole individual.
 *
 * The flats live in one WebAssembly.Memory allocated up front (wasm-memory.ts: N individuals,
 * the candidate, the merged set, and the base or else the kinship mean), never grown, so the
 * WebAssembly SIMD DE step (de-step.wasm.ts, bit for bit the TypeScript twin) runs on them in
 * place. Where they cannot share one wasm32 memory (over 4 GiB), or the engine lacks wasm
 * SIMD, they are plain Float32Arrays and the TypeScript twin runs; so does a trial touching a
 * slot that Top-k allocated past the memory's capacity.
 */
import { deTrialCpu, type DeRoles } from '../kernels/de-step/de-step.cpu';
import { DeStepWasm } from '../kernels/de-step/de-step.wasm';
import { kinshipMomentsCpu, type KinshipMoments } from '../kernels/kinship/kinship.cpu';
import type { FlatMerger } from '../merge/cpu-merger';
import type { ParameterLayout } from '../merge/layout';
import { VectorMemory } from './wasm-memory';
import { kinshipPairsOf, occupySlot, type KinshipReference, type MutationParams, type PopulationStore, type WeightHandle } from './population';
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
  private readonly base: Float32Array | null;
  /** Kinship reference when there is no base: the checkpoints' mean as loaded (null with a base, which is the reference then). */
  private readonly initialMean: Float32Array | null;
  /** The population's memory, or null when the flats are plain Float32Arrays. */
  private readonly vectors: VectorMemory | null;
  private readonly kernel: DeStepWasm | null;

  constructor(
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
    private readonly merger: FlatMerger,
    base: Float32Array | null = null,
  ) {
    // N individuals, the candidate, the merged set, and the base or (without one) the mean: N + 3 (memory-plan.ts).
    this.vectors = VectorMemory.open(layout.totalSize, initial.length + 3);
    this.kernel = this.vectors ? DeStepWasm.create(this.vectors.memory) : null;
    const copy = (flat: Float32Array) => {
      const out = this.fresh();
      out.set(flat);
      return out;
    };
    this.individuals = initial.map((flat) => makeSet(layout, copy(flat)));
    this.candidate = makeSet(layout, this.fresh());
    this.merged = makeSet(layout, this.fresh());
    this.base = base && copy(base);
    this.initialMean = base ? null : this.fresh();
    if (this.initialMean) meanInto(this.initialMean, initial);
  }

  /** A vector: a free slot of the memory (zeroed until first used), else a new Float32Array. */
  private fresh(): Float32Array {
    return this.vectors?.take() ?? new Float32Array(this.layout.totalSize);
  }

  get size(): number {
    return this.individuals.length;
  }

  get hasBase(): boolean {
    return this.base !== null;
  }

  trial(roles: DeRoles<number>, p: MutationParams): void {
    const flat = (i: number) => this.individual(i).flat;
    const vectors = { target: flat(roles.target), base: flat(roles.base), plus: flat(roles.plus), minus: flat(roles.minus) };
    const params = { f: p.f, cr: p.cr, seed: p.seed, stream: p.stream, offset: 0, jRand: p.jRand };
    const out = this.candidate.flat;
    const inMemory = this.kernel !== null && [vectors.target, vectors.base, vectors.plus, vectors.minus, out].every((v) => this.kernel!.holds(v));
    if (inMemory) this.kernel!.trial(vectors, out, params);
    else deTrialCpu(vectors, out, params);
  }

  /** Which DE step trial() runs on the current individuals ('wasm-simd' in place, or the TypeScript twin). */
  get deStepPath(): 'wasm-simd' | 'typescript' {
    return this.kernel ? 'wasm-simd' : 'typescript';
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
    return occupySlot(this.individuals, makeSet(this.layout, this.fresh()));
  }

  release(index: number): void {
    const set = this.individual(index);
    this.individuals[index] = null;
    this.vectors?.give(set.flat);
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

/** The element-wise mean of flats into out (as population.ts meanOf, without a temporary copy). */
function meanInto(out: Float32Array, flats: readonly Float32Array[]): void {
  const acc = new Float64Array(out.length);
  for (const flat of flats) for (let j = 0; j < acc.length; j++) acc[j]! += flat[j]!;
  for (let j = 0; j < acc.length; j++) out[j] = acc[j]! / flats.length;
}
