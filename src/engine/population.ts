/**
 * The population seam between the Evolver and a compute path. An implementation
 * keeps N individuals plus two scratch sets ("candidate": the offspring being
 * tried, "merged": the population averaged) wherever its path keeps weights:
 * Float32Arrays for WASM, GPUBuffers for WebGPU. The Evolver only names sets;
 * weights never cross this interface except through read(), which export uses.
 */
import type { ComputePath } from './types';
import type { ParameterLayout } from './layout';

export type WeightHandle = Float32Array | GPUBuffer;
export type WeightSetId = number | 'candidate' | 'merged';

export interface MutationParams {
  f: number;
  cr: number;
  seed: number;
  /** Counter-RNG stream: unique per offspring so a seed reproduces every crossover mask. */
  stream: number;
  /** Global element index that always takes the mutant value (guarantees the offspring differs). */
  jRand: number;
}

export interface PopulationStore {
  readonly path: ComputePath;
  readonly layout: ParameterLayout;
  readonly size: number;
  /** candidate ← crossover(population[target], mutant toward population[donor]). */
  mutate(target: number, donor: number, params: MutationParams): void;
  /**
   * merged ← the population merged by this store's merger, with the candidate standing in
   * for `replace`. Async because SLERP and model stock on WebGPU read back their per-tensor
   * dot products (16 bytes each, never weights) before combining.
   */
  merge(replace: number | null): Promise<void>;
  /** population[target] ← candidate (a swap of storage, no copy). */
  accept(target: number): void;
  /** Per-tensor handles of a set, in layout order, for feeding the evaluator. */
  handles(set: WeightSetId): WeightHandle[];
  /** Flat copy of a set (layout order). On WebGPU this is a read-back: export only. */
  read(set: WeightSetId): Promise<Float32Array>;
  dispose(): void;
}
