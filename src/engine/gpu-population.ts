/**
 * WebGPU path: every individual is one GPUBuffer per tensor (onnxruntime-web's
 * Tensor.fromGpuBuffer takes whole buffers, no offsets). Mutation and averaging are
 * recorded into one command encoder per call and submitted; weights are uploaded
 * once at the start and read back only by read() (export).
 */
import { encodeDeStep } from '../kernels/de-step';
import { encodeScaleAdd } from '../kernels/scale-add';
import { createWeightBuffer, readFloats, uploadFloats } from '../gpu/buffers';
import type { ParameterLayout } from './layout';
import type { MutationParams, PopulationStore, WeightHandle, WeightSetId } from './population';

type BufferSet = GPUBuffer[];

export class GpuPopulation implements PopulationStore {
  readonly path = 'webgpu' as const;
  private readonly individuals: BufferSet[];
  private candidate: BufferSet;
  private readonly merged: BufferSet;

  constructor(
    private readonly device: GPUDevice,
    readonly layout: ParameterLayout,
    initial: readonly Float32Array[],
  ) {
    const allocate = (label: string) => layout.slots.map((s) => createWeightBuffer(device, s.size, `${label}:${s.name}`));
    this.individuals = initial.map((flat, i) => {
      const set = allocate(`individual ${i}`);
      layout.slots.forEach((s, t) => uploadFloats(device, set[t], flat.subarray(s.offset, s.offset + s.size)));
      return set;
    });
    this.candidate = allocate('candidate');
    this.merged = allocate('merged');
  }

  get size(): number {
    return this.individuals.length;
  }

  mutate(target: number, donor: number, p: MutationParams): void {
    const encoder = this.device.createCommandEncoder({ label: 'de-step' });
    const parent = this.individuals[target];
    const peer = this.individuals[donor];
    this.layout.slots.forEach((s, t) =>
      encodeDeStep(this.device, encoder, parent[t], peer[t], this.candidate[t], s.size, {
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

  /** Simple average (the only merger wired on WebGPU so far; the engine routes others to the CPU store). */
  merge(replace: number | null): void {
    const encoder = this.device.createCommandEncoder({ label: 'merge-mean' });
    const w = 1 / this.size;
    for (let i = 0; i < this.size; i++) {
      const source = i === replace ? this.candidate : this.individuals[i];
      this.layout.slots.forEach((s, t) => encodeScaleAdd(this.device, encoder, this.merged[t], source[t], s.size, i === 0 ? 0 : 1, w));
    }
    this.device.queue.submit([encoder.finish()]);
  }

  accept(target: number): void {
    const previous = this.individuals[target];
    this.individuals[target] = this.candidate;
    this.candidate = previous;
  }

  private set(id: WeightSetId): BufferSet {
    if (id === 'candidate') return this.candidate;
    if (id === 'merged') return this.merged;
    return this.individuals[id];
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
    for (const set of [...this.individuals, this.candidate, this.merged]) for (const buf of set) buf.destroy();
  }
}
