/**
 * The staged merges split over kernel threads (threads/kernel-threads.ts) when every array of
 * a call lives on one pooled shared memory: how a call's arguments are laid out (the builders,
 * on the calling thread) and the chunk kernels that read them (on every thread), each running
 * its thread's own staged kernels on views of its chunk.
 *
 * Bits: the elementwise passes depend on each float's index alone (DARE's hash counter is
 * offset + the float's position); the sums are per-chunk partials in four lanes, folded in
 * chunk order, which is how the one-thread path sums too (staged-merges.wasm.ts).
 * Layouts: counts and lengths first, then the pointers (the pool flags at most 32), then the
 * per-model numbers.
 */
import { CALL_MAX_ARGS, CALL_MAX_POINTER_ARG, partialSlot, type ChunkedCall, type KernelFn } from '../threads/chunked-call';

/** One DARE model's mask and weight, as dare.cpu.ts resolves them (f32 values, u32 keys). */
export interface StagedDareModel {
  weight: number;
  scale: number;
  key0: number;
  key1: number;
  threshold: number;
}

/** A DARE model's keep mask: u32 keys and the integer keep threshold. */
export type StagedDareMask = Pick<StagedDareModel, 'key0' | 'key1' | 'threshold'>;

/** What the chunk kernels run on one thread: the staged kernels of staged-merges.wasm.ts on one chunk. */
export interface StagedChunkRunner {
  dareLinearHere(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: readonly StagedDareModel[], s: number, offset: number): void;
  weightedSumHere(out: Float32Array, inputs: readonly Float32Array[], weights: readonly number[]): void;
  /** A chunk's sums, each from 0 in four lanes (its partials). */
  taskVectorStatsHere(models: readonly Float32Array[], base: Float32Array): ArrayLike<number>;
  plainStatsHere(x: Float32Array, y: Float32Array): ArrayLike<number>;
  kinshipMomentsHere(x: Float32Array, y: Float32Array, reference: Float32Array | null): ArrayLike<number>;
  /** [Σ before, Σ after] of each model in turn, flat. */
  dareNormsHere(models: readonly Float32Array[], base: Float32Array, masks: readonly StagedDareMask[], offset: number, norm: 'l1' | 'l2'): ArrayLike<number>;
}

const addresses = (arrays: readonly Float32Array[]) => arrays.map((a) => a.byteOffset);
const pointerRange = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

function fits(args: readonly number[], pointers: readonly number[]): boolean {
  return args.length <= CALL_MAX_ARGS && pointers.every((p) => p <= CALL_MAX_POINTER_ARG);
}

/** A call (or null where its arguments do not fit the pool's). */
function callOf(fn: string, args: number[], pointers: number[], lengthArg: number, counterArg: number | undefined, n: number): ChunkedCall | null {
  return fits(args, pointers) ? { fn, args, pointers, lengthArg, counterArg, n } : null;
}

/** A reduction: its position is argument 2, its segment size argument 3. */
function reductionOf(fn: string, args: number[], pointers: number[], n: number): ChunkedCall | null {
  return fits(args, pointers) ? { fn, args, pointers, lengthArg: 1, counterArg: 2, segmentArg: 3, n } : null;
}

// [count, n, position, offset, s, out, base, models…, then weight, scale, key0, key1, threshold per model]
export function dareLinearCall(models: readonly Float32Array[], base: Float32Array, out: Float32Array, params: readonly StagedDareModel[], s: number, offset: number): ChunkedCall | null {
  const c = models.length;
  const perModel = params.flatMap((p) => [p.weight, p.scale, p.key0, p.key1, p.threshold]);
  return callOf('staged.dare_linear', [c, out.length, 0, offset, s, ...addresses([out, base, ...models]), ...perModel], pointerRange(5, c + 2), 1, 2, out.length);
}

// [count, n, out, inputs…, weights…]
export function weightedSumCall(out: Float32Array, inputs: readonly Float32Array[], weights: readonly number[]): ChunkedCall | null {
  const c = inputs.length;
  return callOf('staged.weighted_sum', [c, out.length, ...addresses([out, ...inputs]), ...weights], pointerRange(2, c + 1), 1, undefined, out.length);
}

// [count, n, position, segment, base, models…]
export function taskVectorStatsCall(models: readonly Float32Array[], base: Float32Array): ChunkedCall | null {
  return reductionOf('staged.task_vector_stats', [models.length, base.length, 0, 0, ...addresses([base, ...models])], pointerRange(4, models.length + 1), base.length);
}

// [2, n, position, segment, x, y]
export function plainStatsCall(x: Float32Array, y: Float32Array): ChunkedCall | null {
  return reductionOf('staged.plain_stats', [2, x.length, 0, 0, ...addresses([x, y])], [4, 5], x.length);
}

// [inputs (2, or 3 with the reference), n, position, segment, x, y, reference?]
export function kinshipCall(x: Float32Array, y: Float32Array, reference: Float32Array | null): ChunkedCall | null {
  const arrays = reference ? [x, y, reference] : [x, y];
  return reductionOf('staged.kinship', [arrays.length, x.length, 0, 0, ...addresses(arrays)], pointerRange(4, arrays.length), x.length);
}

// [count, n, position, segment, offset, base, models…, then key0, key1, threshold per model]
export function dareNormsCall(models: readonly Float32Array[], base: Float32Array, masks: readonly StagedDareMask[], offset: number, norm: 'l1' | 'l2'): ChunkedCall | null {
  const c = models.length;
  const perModel = masks.flatMap((m) => [m.key0, m.key1, m.threshold]);
  return reductionOf(`staged.dare_norms_${norm}`, [c, base.length, 0, 0, offset, ...addresses([base, ...models]), ...perModel], pointerRange(5, c + 1), base.length);
}

/**
 * The chunk kernels on `memory`, by name, running `local` (this thread's staged kernels); a
 * reduction's chunk writes its partials to `partials` at partialSlot. Empty where there is none.
 */
export function stagedChunkKernels(memory: WebAssembly.Memory, partials: Float64Array, local: StagedChunkRunner | null): Map<string, KernelFn> {
  if (!local) return new Map();
  const view = (address: number, n: number) => new Float32Array(memory.buffer, address, n);
  const views = (args: readonly number[], from: number, count: number, n: number) => Array.from({ length: count }, (_, i) => view(args[from + i]!, n));
  // A reduction's arguments start [count, n, position, segment].
  const write = (args: readonly number[], sums: ArrayLike<number>) => partials.set(sums, partialSlot(args[2]!, sums.length, args[3]!));
  const dareNorms = (norm: 'l1' | 'l2'): KernelFn => (...args) => {
    const [c, n, position, , offset] = args as [number, number, number, number, number];
    const masks = Array.from({ length: c }, (_, i) => {
      const at = 6 + c + 3 * i;
      return { key0: args[at]!, key1: args[at + 1]!, threshold: args[at + 2]! };
    });
    write(args, local.dareNormsHere(views(args, 6, c, n), view(args[5]!, n), masks, offset + position, norm));
  };
  return new Map<string, KernelFn>([
    [
      'staged.dare_linear',
      (...args) => {
        const [c, n, position, offset, s] = args as [number, number, number, number, number];
        const params = Array.from({ length: c }, (_, i) => {
          const at = 7 + c + 5 * i;
          return { weight: args[at]!, scale: args[at + 1]!, key0: args[at + 2]!, key1: args[at + 3]!, threshold: args[at + 4]! };
        });
        local.dareLinearHere(views(args, 7, c, n), view(args[6]!, n), view(args[5]!, n), params, s, offset + position);
      },
    ],
    [
      'staged.weighted_sum',
      (...args) => {
        const [c, n] = args as [number, number];
        local.weightedSumHere(view(args[2]!, n), views(args, 3, c, n), args.slice(3 + c, 3 + 2 * c));
      },
    ],
    [
      'staged.task_vector_stats',
      (...args) => {
        const [c, n] = args as [number, number];
        write(args, local.taskVectorStatsHere(views(args, 5, c, n), view(args[4]!, n)));
      },
    ],
    [
      'staged.plain_stats',
      (...args) => {
        const n = args[1]!;
        write(args, local.plainStatsHere(view(args[4]!, n), view(args[5]!, n)));
      },
    ],
    [
      'staged.kinship',
      (...args) => {
        const [inputs, n] = args as [number, number];
        write(args, local.kinshipMomentsHere(view(args[4]!, n), view(args[5]!, n), inputs === 3 ? view(args[6]!, n) : null));
      },
    ],
    ['staged.dare_norms_l1', dareNorms('l1')],
    ['staged.dare_norms_l2', dareNorms('l2')],
  ]);
}
