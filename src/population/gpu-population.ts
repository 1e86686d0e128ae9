/**
 * WebGPU path: every individual is one GPUBuffer per tensor (onnxruntime-web's
 * Tensor.fromGpuBuffer takes whole buffers, no offsets). Mutation and merging are
 * recorded into one command encoder per call and submitted; weights are uploaded
 * once at the start and read back only by read() (export). Kinship reads back 32
 * bytes of moments per tensor and pair, never weights.
 */
import { encodeDeTrial, type DeRoles } from '../kernels/de-step';
import { kinshipMomentsGpu, type KinshipMoments } from '../kernels/kinship';
import { createMergeScratch, encodeDare, encodeLinear, encodeTaskArithmetic, encodeTies, type MergeScratch } from '../kernels/task-vector';
import { slerpGpu } from '../kernels/slerp';
import { createFisherScratch, encodeFisherMerge, type FisherScratch } from '../kernels/fisher-merge';
import { encodeLinearOperator } from '../kernels/linear-operator';
import type { LinearLayer } from '../formats/onnx-outputs';
import { modelStockGpu } from '../kernels/model-stock';
import { createWeightBuffer, readFloats, uploadFloats } from '../gpu/buffers';
import type { ParameterLayout } from '../merge/layout';
import { paramsForTensor } from '../merge/params';
import { type MergeMethod, type MergeParams } from '../protocol/settings';
import { kinshipPairsOf, occupySlot, type KinshipReference, type MutationParams, type PopulationStore, type WeightHandle } from './population';
import { type WeightSetId } from '../protocol/results';

/** Mergers with GPU kernels wired here; the engine runs the others on the CPU population. */
export const GPU_MERGE_METHODS: ReadonlySet<MergeMethod> = new Set([
  'average',
  'task_arithmetic',
  'ties',
  'dare_linear',
  'dare_ties',
  'slerp',
  'model_stock',
  'regmean',
  'fisher',
]);

/**
 * Data-aware inputs, fixed for a run (computed from the original checkpoints):
 * RegMean's per-layer operators A_i = (ΣG̃)⁻¹G̃_i (merged = Σ A_i·W_i) and Fisher's
 * per-element weights, both per population slot. Tensors without an entry are averaged.
 */
export interface GpuMergeInputs {
  regmean?: { layers: Map<string, LinearLayer>; operators: Map<string, Float32Array[]> };
  fishers?: Map<string, Float32Array[]>;
}

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
  private readonly scratch: MergeScratch | null;
  private readonly fisherScratch: (FisherScratch & { destroy(): void }) | null;
  private readonly operators = new Map<string, GPUBuffer[]>();
  private readonly fishers = new Map<string, GPUBuffer[]>();
  private readonly layers: Map<string, LinearLayer>;

  constructor(
    private readonly device: GPUDevice,
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
    private readonly mergeParams: MergeParams,
    base: Float32Array | null,
    inputs: GpuMergeInputs = {},
  ) {
    if (!GPU_MERGE_METHODS.has(mergeParams.method)) throw new Error(`${mergeParams.method} has no WebGPU merger yet.`);
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
    const consensus = mergeParams.method === 'ties' || mergeParams.method === 'dare_ties';
    const largest = Math.max(...layout.slots.map((s) => s.size));
    this.scratch = consensus ? createMergeScratch(device, largest, initial.length) : null;
    this.fisherScratch = inputs.fishers ? createFisherScratch(device, largest) : null;
    const uploadAll = (name: string, arrays: Float32Array[]) =>
      arrays.map((a, i) => {
        const buf = createWeightBuffer(device, a.length, `${name}[${i}]`);
        uploadFloats(device, buf, a);
        return buf;
      });
    this.layers = inputs.regmean?.layers ?? new Map();
    for (const [name, ops] of inputs.regmean?.operators ?? []) this.operators.set(name, uploadAll(`regmean A:${name}`, ops));
    for (const [name, f] of inputs.fishers ?? []) this.fishers.set(name, uploadAll(`fisher:${name}`, f));
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
    const p = this.mergeParams;
    const at = (t: number) => paramsForTensor(p, this.layout.slots[t].name, this.layout.slots[t].depth);
    // SLERP and model stock need each tensor's dot products first: their own batched passes.
    if (p.method === 'slerp') {
      await slerpGpu(this.device, this.layout.slots.map((s, t) => ({ a: sources[0][t], b: sources[1][t], out: target[t], elementCount: s.size, params: { t: at(t).t } })));
      return;
    }
    if (p.method === 'model_stock') {
      await modelStockGpu(this.device, this.layout.slots.map((s, t) => ({ base: this.base![t], models: sources.map((set) => set[t]), out: target[t], elementCount: s.size })));
      return;
    }
    const encoder = this.device.createCommandEncoder({ label: `merge ${p.method}` });
    this.layout.slots.forEach((s, t) => {
      const p = at(t);
      const models = sources.map((set) => set[t]);
      const out = target[t];
      const base = this.base?.[t] as GPUBuffer;
      switch (p.method) {
        case 'slerp':
        case 'model_stock':
          throw new Error(`${p.method} is not an encoder-only merger.`);
        case 'regmean': {
          const operators = this.operators.get(s.name);
          if (!operators) return encodeLinear(this.device, encoder, models, out, s.size);
          if (operators.length !== models.length) throw new Error('RegMean merges the loaded checkpoints only (its Gram matrices belong to them).');
          const layer = this.layers.get(s.name)!;
          return encodeLinearOperator(this.device, encoder, operators, models, layer.layout, layer.inDim, layer.outDim, out);
        }
        case 'fisher': {
          const fishers = this.fishers.get(s.name);
          if (!fishers) return encodeLinear(this.device, encoder, models, out, s.size);
          if (fishers.length !== models.length) throw new Error('Fisher merges the loaded checkpoints only (its Fisher weights belong to them).');
          return encodeFisherMerge(this.device, encoder, models, fishers, out, s.size, this.fisherScratch!);
        }
        case 'average':
          return encodeLinear(this.device, encoder, models, out, s.size, { weights: p.weights });
        case 'task_arithmetic':
          return encodeTaskArithmetic(this.device, encoder, models, base, out, s.size, { lambda: p.lambda, weights: p.weights });
        case 'ties':
          return encodeTies(this.device, encoder, models, base, out, s.size, { density: p.density, lambda: p.lambda, weights: p.weights }, this.scratch!);
        case 'dare_linear':
        case 'dare_ties':
          return encodeDare(
            this.device,
            encoder,
            models,
            base,
            out,
            s.size,
            { density: p.density, lambda: p.lambda, seed: p.seed, weights: p.weights, offset: s.offset, consensus: p.method === 'dare_ties' ? 'ties' : 'none' },
            this.scratch,
          );
      }
    });
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
    this.scratch?.destroy();
    this.fisherScratch?.destroy();
    for (const bufs of [...this.operators.values(), ...this.fishers.values()]) for (const b of bufs) b.destroy();
  }
}
