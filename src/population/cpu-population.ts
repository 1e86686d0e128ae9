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
 *
 * With an IncrementalLinearUpdate (linear, task arithmetic; incremental-merge.ts), merge(t)
 * is the population's merge M plus the candidate's weighted difference, and M is re-merged
 * in full whenever the population changes. With a LinearMergePlan (linear, task arithmetic),
 * full merges and those updates run as WebAssembly SIMD kernels in place (kernels/linear-combine,
 * bit for bit the TypeScript twins) when every vector lives in the memory.
 */
import { deTrialCpu, type DeRoles } from '../kernels/de-step/de-step.cpu';
import { DeStepWasm } from '../kernels/de-step/de-step.wasm';
import { kinshipMomentsCpu, type KinshipMoments } from '../kernels/kinship/kinship.cpu';
import type { FlatMerger } from '../merge/cpu-merger';
import type { ParameterLayout } from '../merge/layout';
import { LinearCombineWasm } from '../kernels/linear-combine/linear-combine.wasm';
import type { IncrementalLinearUpdate, LinearMergePlan } from './incremental-merge';
import { kernelThreadCount, openKernelThreads, type KernelThreads } from '../kernels/threads/kernel-threads';
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
  private readonly merger: FlatMerger;
  /** Kinship reference when there is no base: the checkpoints' mean as loaded (null with a base, which is the reference then). */
  private readonly initialMean: Float32Array | null;
  /** The population's memory, or null when the flats are plain Float32Arrays. */
  private readonly vectors: VectorMemory | null;
  private readonly kernel: DeStepWasm | null;
  /** Worker threads sharing the memory, when the environment set more than one (setKernelThreads). */
  private readonly threads: KernelThreads | null;
  /** The current population's merge M (a full re-merge), for incremental merges; null without them. */
  private readonly populationMerge: Float32Array | null;
  /** Whether populationMerge is the merge of the individuals as they are now. */
  private populationMergeValid = false;
  /** The individual the merged set holds the candidate in place of (null: the population as it is). */
  private mergedReplaces: number | null = null;
  /** The SIMD linear merges on this memory, when the merge is linear or task arithmetic. */
  private readonly linearKernel: LinearCombineWasm | null;
  private readonly linearPlan: LinearMergePlan | null;

  constructor(
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
    merger: FlatMerger,
    base: Float32Array | null = null,
    private readonly incremental: IncrementalLinearUpdate | null = null,
    linearPlan: LinearMergePlan | null = null,
  ) {
    if (incremental && incremental.modelCount !== initial.length) throw new Error(`cpu-population.ts: the incremental merge is for ${incremental.modelCount} models, the population has ${initial.length}`);
    // N individuals, the candidate, the merged set, and the base or (without one) the mean: N + 3
    // (memory-plan.ts); one more, M, with incremental merges.
    // (Where N + 4 would not fit one wasm32 memory and N + 3 would, M goes outside it, and its
    // update runs as the TypeScript loop, rather than losing the SIMD DE step for all.)
    const withM = initial.length + 4;
    const capacity = incremental && VectorMemory.fits(layout.totalSize, withM) ? withM : initial.length + 3;
    this.vectors = VectorMemory.open(layout.totalSize, capacity, kernelThreadCount() > 1);
    this.threads = this.vectors?.shared ? openKernelThreads(this.vectors.memory, this.vectors.scratch) : null;
    this.kernel = this.vectors ? DeStepWasm.create(this.vectors.memory, this.threads) : null;
    const copy = (flat: Float32Array) => {
      const out = this.fresh();
      out.set(flat);
      return out;
    };
    this.individuals = initial.map((flat) => makeSet(layout, copy(flat)));
    this.candidate = makeSet(layout, this.fresh());
    this.merged = makeSet(layout, this.fresh());
    this.base = base && copy(base);
    // The merger reads the base's copy in the memory, so that its kernels can split over the threads.
    this.merger = this.base && merger.withBase ? merger.withBase(this.base) : merger;
    this.initialMean = base ? null : this.fresh();
    if (this.initialMean) meanInto(this.initialMean, initial);
    this.populationMerge = incremental ? this.fresh() : null;
    this.linearPlan = incremental?.plan ?? linearPlan;
    if (this.linearPlan && this.linearPlan.modelCount !== initial.length) throw new Error(`cpu-population.ts: the merge plan is for ${this.linearPlan.modelCount} models, the population has ${initial.length}`);
    this.linearKernel = this.linearPlan && this.vectors ? LinearCombineWasm.create(this.vectors.memory, this.threads) : null;
  }

  /** Which code runs linear and task-arithmetic merges: the SIMD kernels in place, or the TypeScript twins. */
  get linearMergeKernel(): 'wasm-simd' | 'typescript' | null {
    return this.linearPlan ? (this.linearKernel ? 'wasm-simd' : 'typescript') : null;
  }

  /** out ← the merge of flats: the SIMD kernels where they take it, else the merger (the twins). */
  private fullMerge(out: Float32Array, flats: readonly Float32Array[]): void {
    const plan = this.linearPlan;
    const kernel = this.linearKernel;
    const base = plan?.method === 'task_arithmetic' ? this.base : null;
    if (!plan || !kernel || !kernel.takes(flats.length) || flats.length !== plan.modelCount || !kernel.holds(out, ...flats, ...(base ? [base] : []))) {
      this.merger.mergeInto(out, flats);
      return;
    }
    this.layout.slots.forEach((slot, s) => {
      const view = (flat: Float32Array) => flat.subarray(slot.offset, slot.offset + slot.size);
      const models = flats.map(view);
      if (base) kernel.taskArithmetic(view(out), models, view(base), plan.weights[s]!, plan.scales[s]!);
      else kernel.linear(view(out), models, plan.weights[s]!, plan.scales[s]!);
    });
  }

  /** merged ← M + k_t·(candidate − individual t), SIMD in place where every vector is in the memory. */
  private applyUpdate(update: IncrementalLinearUpdate, current: Float32Array, t: number): void {
    const [out, candidate, replaced] = [this.merged.flat, this.candidate.flat, this.individual(t).flat];
    const kernel = this.linearKernel;
    if (!kernel || !kernel.holds(out, current, candidate, replaced)) {
      update.apply(out, current, candidate, replaced, t);
      return;
    }
    this.layout.slots.forEach((slot, s) => {
      const view = (flat: Float32Array) => flat.subarray(slot.offset, slot.offset + slot.size);
      kernel.update(view(out), view(current), view(candidate), view(replaced), update.factor(s, t));
    });
  }

  /** How merge(t) runs: by the candidate's weighted difference, or a re-merge of every individual. */
  get mergePath(): 'incremental' | 're-merge' {
    return this.incremental ? 'incremental' : 're-merge';
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
    this.mergedReplaces = replace;
    const current = this.populationMerge;
    if (this.incremental && current && replace !== null) {
      if (!this.populationMergeValid) this.remergePopulation();
      this.applyUpdate(this.incremental, current, replace);
      return;
    }
    this.fullMerge(
      this.merged.flat,
      this.individuals.map((_, i) => (i === replace ? this.candidate.flat : this.individual(i).flat)),
    );
    if (current && replace === null) {
      current.set(this.merged.flat);
      this.populationMergeValid = true;
    }
  }

  /** M ← the merge of the individuals as they are (the exact re-merge incremental updates start from). */
  private remergePopulation(): void {
    this.fullMerge(this.populationMerge!, this.individuals.map((_, i) => this.individual(i).flat));
    this.populationMergeValid = true;
  }

  async mergeInto(sources: readonly WeightSetId[], into: WeightSetId): Promise<void> {
    const out = this.set(into).flat;
    const flats = sources.map((id) => this.set(id).flat);
    if (flats.includes(out)) throw new Error('cpu-population.ts: mergeInto cannot write one of its sources');
    this.fullMerge(out, flats);
  }

  accept(target: number): void {
    const previous = this.individual(target);
    this.individuals[target] = this.candidate;
    this.candidate = previous;
    if (!this.populationMerge) return;
    // The merged set was scored with this candidate in place: M is re-merged in full now, so
    // the next offspring's update starts from an exact merge (errors never compound). Without
    // merger the merged set is not scored per offspring, so M waits until it is needed.
    if (this.mergedReplaces === target) this.remergePopulation();
    else this.populationMergeValid = false;
  }

  allocate(): number {
    this.populationMergeValid = false;
    return occupySlot(this.individuals, makeSet(this.layout, this.fresh()));
  }

  release(index: number): void {
    this.populationMergeValid = false;
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

  /** Threads the in-place kernels run on (1: this thread alone). */
  get kernelThreads(): number {
    return this.threads?.threads ?? 1;
  }

  /** Chunks of split kernel calls run on this thread and on the workers (zeros with one thread). */
  get kernelChunks(): { caller: number; workers: number } {
    return { ...(this.threads?.chunks ?? { caller: 0, workers: 0 }) };
  }

  dispose(): void {
    this.threads?.close();
  }
}

/** The element-wise mean of flats into out (as population.ts meanOf, without a temporary copy). */
function meanInto(out: Float32Array, flats: readonly Float32Array[]): void {
  const acc = new Float64Array(out.length);
  for (const flat of flats) for (let j = 0; j < acc.length; j++) acc[j]! += flat[j]!;
  for (let j = 0; j < acc.length; j++) out[j] = acc[j]! / flats.length;
}
