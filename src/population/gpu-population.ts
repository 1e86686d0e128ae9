/**
 * WebGPU path: every individual is one GPUBuffer per tensor (onnxruntime-web's
 * Tensor.fromGpuBuffer takes whole buffers, no offsets). Mutation and merging are
 * recorded into one command encoder per call and submitted; weights are uploaded
 * once at the start and read back only by read() (export). Kinship reads back 32
 * bytes of moments per tensor and pair, never weights.
 */
import { encodeDeTrial, type DeRoles } from '../kernels/de-step';
import { kinshipMomentsGpu, type KinshipMoments } from '../kernels/kinship';
import { encodeLinear } from '../kernels/task-vector';
import { createWeightBuffer, readFloats, uploadFloats } from '../gpu/buffers';
import type { ParameterLayout } from '../merge/layout';
import type { GpuMerger, GpuTensorJob } from '../merge/method';
import { paramsForTensor } from '../merge/params';
import { MERGE_METHODS, methodFor } from '../merge/registry';
import { type MergeMethod, type MergeParams } from '../protocol/settings';
import { kinshipPairsOf, occupySlot, type KinshipReference, type MutationParams, type PopulationStore, type WeightHandle } from './population';
import { type WeightSetId } from '../protocol/results';

/** Methods whose registry entry has a GPU merger; the engine runs the others on the CPU population. */
export const GPU_MERGE_METHODS: ReadonlySet<MergeMethod> = new Set(MERGE_METHODS.filter((m) => m.gpu).map((m) => m.id));

type BufferSet = GPUBuffer[];

export class GpuPopulation implements PopulationStore {
  readonly path = 'webgpu' as const;
  private readonly individuals: (BufferSet | null)[];
  private candidate: BufferSet;
  private readonly merged: BufferSet;
  private readonly base: BufferSet | null;
  /** Kinship reference when there is no base: the checkpoints' mean as loaded, computed on the GPU. */
  private readonly initialMean: BufferSet | null;
  private readonly allocateSet: (label: string) => BufferSet;
  private readonly merger: GpuMerger;

  constructor(
    private readonly device: GPUDevice,
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
    private readonly mergeParams: MergeParams,
    base: Float32Array | null,
    /** What the method's gpuInputs returned (null for methods without one). */
    inputs: unknown = null,
  ) {
    const method = methodFor(mergeParams.method);
    if (!method.gpu) throw new Error(`${method.label} has no WebGPU merger yet.`);
    const allocate = (label: string) => layout.slots.map((s) => createWeightBuffer(device, s.size, `${label}:${s.name}`));
    const upload = (label: string, flat: Float32Array) => {
      const set = allocate(label);
      layout.slots.forEach((s, t) => uploadFloats(device, set[t], flat.subarray(s.offset, s.offset + s.size)));
      return set;
    };
    this.allocateSet = allocate;
    this.individuals = initial.map((flat, i) => upload(`individual ${i}`, flat));
    this.candidate = allocate('candidate');
    this.merged = allocate('merged');
    this.base = base ? upload('base', base) : null;
    this.initialMean = base ? null : allocate('initial mean');
    if (this.initialMean) {
      const encoder = device.createCommandEncoder({ label: 'initial mean' });
      const sets = this.individuals as BufferSet[];
      layout.slots.forEach((s, t) => encodeLinear(device, encoder, sets.map((set) => set[t]), this.initialMean![t], s.size));
      device.queue.submit([encoder.finish()]);
    }
    const largest = Math.max(...layout.slots.map((s) => s.size));
    this.merger = method.gpu({ device, layout, modelCount: initial.length, largest, inputs, params: mergeParams });
  }

  get size(): number {
    return this.individuals.length;
  }

  get hasBase(): boolean {
    return this.base !== null;
  }

  trial(roles: DeRoles<number>, p: MutationParams): void {
    const encoder = this.device.createCommandEncoder({ label: 'de-step' });
    const [target, base, plus, minus] = [roles.target, roles.base, roles.plus, roles.minus].map((i) => this.individual(i));
    this.layout.slots.forEach((s, t) =>
      encodeDeTrial(this.device, encoder, { target: target[t], base: base[t], plus: plus[t], minus: minus[t] }, this.candidate[t], s.size, {
        f: p.f,
        cr: p.cr,
        seed: p.seed,
        stream: p.stream,
        offset: s.offset,
        jRand: p.jRand,
      }),
    );
    this.device.queue.submit([encoder.finish()]);
  }

  merge(replace: number | null): Promise<void> {
    return this.mergeSets(this.individuals.map((_, i) => (i === replace ? this.candidate : this.individual(i))), this.merged);
  }

  async mergeInto(sources: readonly WeightSetId[], into: WeightSetId): Promise<void> {
    const out = this.set(into);
    const sets = sources.map((id) => this.set(id));
    if (sets.includes(out)) throw new Error('gpu-population.ts: mergeInto cannot write one of its sources');
    return this.mergeSets(sets, out);
  }

  private async mergeSets(sources: BufferSet[], target: BufferSet): Promise<void> {
    const jobs: GpuTensorJob[] = this.layout.slots.map((s, t) => ({
      name: s.name,
      offset: s.offset,
      size: s.size,
      params: paramsForTensor(this.mergeParams, s.name, s.depth),
      models: sources.map((set) => set[t]),
      base: this.base?.[t] ?? null,
      out: target[t],
    }));
    const merger = this.merger;
    if (merger.kind === 'batched') return merger.mergeAll(jobs);
    const encoder = this.device.createCommandEncoder({ label: `merge ${this.mergeParams.method}` });
    for (const job of jobs) merger.encode(encoder, job);
    this.device.queue.submit([encoder.finish()]);
  }

  accept(target: number): void {
    const previous = this.individual(target);
    this.individuals[target] = this.candidate;
    this.candidate = previous;
  }

  allocate(): number {
    return occupySlot(this.individuals, this.allocateSet('pool'));
  }

  release(index: number): void {
    for (const buf of this.individual(index)) buf.destroy();
    this.individuals[index] = null;
  }

  async kinshipMoments(sets: readonly WeightSetId[], reference: KinshipReference): Promise<KinshipMoments[][]> {
    const ref = reference === 'base' ? this.base : this.initialMean;
    if (!ref) throw new Error('gpu-population.ts: kinship against the base needs a base checkpoint');
    const pairs = kinshipPairsOf(sets);
    const items = pairs.flatMap(([a, b]) => {
      const [x, y] = [this.set(a), this.set(b)];
      return this.layout.slots.map((s, t) => ({ x: x[t], y: y[t], reference: ref[t], elementCount: s.size }));
    });
    const moments = await kinshipMomentsGpu(this.device, items);
    const perPair = this.layout.slots.length;
    return pairs.map((_, p) => moments.slice(p * perPair, (p + 1) * perPair));
  }

  private individual(index: number): BufferSet {
    const set = this.individuals[index];
    if (!set) throw new Error(`gpu-population.ts: individual ${index} does not exist or was released`);
    return set;
  }

  private set(id: WeightSetId): BufferSet {
    if (id === 'candidate') return this.candidate;
    if (id === 'merged') return this.merged;
    return this.individual(id);
  }

  handles(id: WeightSetId): WeightHandle[] {
    return this.set(id);
  }

  async read(id: WeightSetId): Promise<Float32Array> {
    const set = this.set(id);
    const flat = new Float32Array(this.layout.totalSize);
    for (const [t, s] of this.layout.slots.entries()) flat.set(await readFloats(this.device, set[t], s.size), s.offset);
    return flat;
  }

  dispose(): void {
    const sets = [...this.individuals, this.candidate, this.merged, this.base, this.initialMean];
    for (const set of sets) for (const buf of set ?? []) buf.destroy();
    this.merger.destroy();
  }
}
