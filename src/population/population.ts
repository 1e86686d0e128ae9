/**
 * The population seam between the search strategies and a compute path. An
 * implementation keeps individuals plus two scratch sets ("candidate": the offspring
 * being tried, "merged": the population merged) wherever its path keeps weights:
 * Float32Arrays for WASM, GPUBuffers for WebGPU. Strategies only name sets; weights
 * never cross this interface except through read(), which export uses.
 *
 * Individuals 0..N−1 start as the loaded checkpoints. Top-k merging grows a pool:
 * allocate() adds a slot, mergeInto() fills it, release() frees it (its index is then
 * reused). The Evolver never allocates.
 */
import type { DeRoles } from '../kernels/de-step/de-step.cpu';
import type { KinshipMoments } from '../kernels/kinship/kinship.cpu';
import type { ComputePath } from '../protocol/settings';
import type { ParameterLayout } from '../merge/layout';
import { OutOfMemoryError } from '../protocol/errors';
import { formatBytes, populationBytes } from './memory-plan';
import { type WeightSetId } from '../protocol/results';

export { populationBytes };

export type WeightHandle = Float32Array | GPUBuffer;

export interface MutationParams {
  f: number;
  cr: number;
  seed: number;
  /** Counter-RNG stream: unique per offspring so a seed reproduces every crossover mask. */
  stream: number;
  /** Global element index that always takes the mutant value (guarantees the offspring differs). */
  jRand: number;
}

/**
 * Task vectors for kinship are taken against the base checkpoint, or against the mean
 * of the checkpoints as loaded (fixed for the run, so kinship is comparable over time).
 */
export type KinshipReference = 'base' | 'initial-mean';

export interface PopulationStore {
  readonly path: ComputePath;
  readonly layout: ParameterLayout;
  /** Individual slots (released ones included). */
  readonly size: number;
  readonly hasBase: boolean;
  /** candidate ← crossover(x_target, x_base + F·(x_plus − x_minus)); roles are individual indices. */
  trial(roles: DeRoles<number>, params: MutationParams): void;
  /**
   * merged ← the population merged by this store's merger, with the candidate standing in
   * for `replace`. Async because SLERP and model stock on WebGPU read back their per-tensor
   * dot products (16 bytes each, never weights) before combining.
   */
  merge(replace: number | null): Promise<void>;
  /** into ← the given sets merged by this store's merger (data-aware mergers need the N individuals). */
  mergeInto(sources: readonly WeightSetId[], into: WeightSetId): Promise<void>;
  /** population[target] ← candidate (a swap of storage, no copy). */
  accept(target: number): void;
  /** A new individual slot; its contents are undefined until mergeInto writes it. */
  allocate(): number;
  release(index: number): void;
  /** Per pair (i < j in sets' order), per tensor in layout order: kinship moments of the task vectors. */
  kinshipMoments(sets: readonly WeightSetId[], reference: KinshipReference): Promise<KinshipMoments[][]>;
  /** Per-tensor handles of a set, in layout order, for feeding the evaluator. */
  handles(set: WeightSetId): WeightHandle[];
  /** Flat copy of a set (layout order). On WebGPU this is a read-back: export only. */
  read(set: WeightSetId): Promise<Float32Array>;
  dispose(): void;
}

/** The mean of flat vectors, element by element (the 'initial-mean' kinship reference). */
export function meanOf(flats: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(flats[0]!.length);
  const acc = new Float64Array(out.length);
  for (const flat of flats) for (let j = 0; j < acc.length; j++) acc[j]! += flat[j]!;
  for (let j = 0; j < acc.length; j++) out[j] = acc[j]! / flats.length;
  return out;
}

/** Checks set ids given to kinshipMoments and returns the pairs to reduce. */
export function kinshipPairsOf(sets: readonly WeightSetId[]): [WeightSetId, WeightSetId][] {
  const pairs: [WeightSetId, WeightSetId][] = [];
  for (let i = 0; i < sets.length; i++) for (let j = i + 1; j < sets.length; j++) pairs.push([sets[i]!, sets[j]!]);
  return pairs;
}

/** Puts a new set in the first released slot (or at the end) and returns its index. */
export function occupySlot<T>(slots: (T | null)[], set: T): number {
  const free = slots.indexOf(null);
  if (free >= 0) {
    slots[free] = set;
    return free;
  }
  return slots.push(set) - 1;
}

/**
 * Builds a population, turning an allocation failure (a RangeError from a typed array, a
 * buffer above the GPU's limits) into an OutOfMemoryError that says how much was needed.
 */
export function allocatePopulation<T extends PopulationStore>(where: string, parameters: number, models: number, build: () => T): T {
  try {
    return build();
  } catch (err) {
    const e = err as Error;
    if (e?.name !== 'RangeError' && e?.name !== 'GpuBufferError') throw err;
    const needed = populationBytes(parameters, models);
    throw new OutOfMemoryError(
      `Out of memory on the ${where}: the run needs about ${formatBytes(needed)} (${models + 3} copies of ${parameters.toLocaleString('en-US')} evolved parameters in f32), and allocating it failed (${e.message}). Remove checkpoints or use a machine with more memory.`,
    );
  }
}
