/**
 * Which parameters the engine evolves, and where each sits in an individual's
 * flattened parameter vector.
 *
 * A float initializer is "merged" when at least two checkpoints disagree on it.
 * Initializers identical everywhere (folded constants, frozen layers) stay inside
 * the ONNX graph: evolving them is a no-op, and some hold ±Inf masks for which
 * x + F·(d − x) would produce NaN.
 */
import type { OnnxModel } from '../formats/onnx';
import { tensorDepths, tensorLayers } from './tensor-position';

export interface ParameterSlot {
  name: string;
  dims: number[];
  size: number;
  /** Index of this tensor's first element in the flattened individual. */
  offset: number;
  /** Position in the network, 0 (input side) to 1 (output side): see tensor-position.ts. */
  depth: number;
  /** The block it belongs to ("layers.0", "head"), for per-layer reports: see tensor-position.ts. */
  layer: string;
}

export interface ParameterLayout {
  slots: ParameterSlot[];
  totalSize: number;
}

export function floatInitializers(model: OnnxModel) {
  return model.initializers.filter((init) => init.floats !== null);
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  // Compare bit patterns so -0/+0 and NaN payloads count as different values.
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Layout over the float initializers that differ across the checkpoints (architecture already checked). */
export function mergedLayout(models: readonly OnnxModel[]): ParameterLayout {
  const first = floatInitializers(models[0]);
  const byName = models.map((m) => new Map(floatInitializers(m).map((init) => [init.name, init])));
  const slots: ParameterSlot[] = [];
  const names = first.map((init) => init.name);
  const depths = tensorDepths(models[0], names);
  const layers = tensorLayers(models[0], names);
  let offset = 0;
  for (const init of first) {
    const varies = byName.some((map) => !sameValues(map.get(init.name)!.floats!, init.floats!));
    if (!varies) continue;
    const size = init.floats!.length;
    slots.push({ name: init.name, dims: init.dims, size, offset, depth: depths.get(init.name)!, layer: layers.get(init.name)! });
    offset += size;
  }
  return { slots, totalSize: offset };
}

/** One checkpoint's merged parameters as a single flat vector in layout order. */
export function flattenParameters(model: OnnxModel, layout: ParameterLayout): Float32Array {
  const byName = new Map(floatInitializers(model).map((init) => [init.name, init]));
  const flat = new Float32Array(layout.totalSize);
  for (const slot of layout.slots) flat.set(byName.get(slot.name)!.floats!, slot.offset);
  return flat;
}
