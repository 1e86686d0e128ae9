/**
 * Which parameters the engine evolves, and where each sits in an individual's
 * flattened parameter vector.
 *
 * A float tensor is "merged" when at least two checkpoints disagree on it. Tensors
 * identical everywhere (folded constants, frozen layers) stay as they are: evolving
 * them is a no-op, and some hold ±Inf masks for which x + F·(d − x) would produce NaN.
 * Works on named float tensors from any format (tensor-sets.ts); ONNX graphs add where
 * each tensor sits in the network (tensor-position.ts).
 */
import type { OnnxModel } from '../formats/onnx-read';
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

/** A named float tensor, whatever file it came from. */
export interface FloatTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface TensorPosition {
  depth: number;
  layer: string;
}

export function floatInitializers(model: OnnxModel) {
  return model.initializers.filter((init) => init.floats !== null);
}

/** An ONNX graph's float initializers as tensors (views, not copies). */
export function onnxFloatTensors(model: OnnxModel): FloatTensor[] {
  return floatInitializers(model).map((init) => ({ name: init.name, dims: init.dims, data: init.floats! }));
}

/** Depth and layer of each float initializer, from the graph. */
export function onnxPositions(model: OnnxModel): Map<string, TensorPosition> {
  const names = floatInitializers(model).map((init) => init.name);
  const depths = tensorDepths(model, names);
  const layers = tensorLayers(model, names);
  return new Map(names.map((n) => [n, { depth: depths.get(n)!, layer: layers.get(n)! }]));
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  // Compare bit patterns so -0/+0 and NaN payloads count as different values.
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Layout over the tensors that differ across the checkpoints (same names and shapes already checked). */
export function layoutOfTensors(sets: readonly (readonly FloatTensor[])[], positions: ReadonlyMap<string, TensorPosition>): ParameterLayout {
  const byName = sets.map((set) => new Map(set.map((t) => [t.name, t])));
  const slots: ParameterSlot[] = [];
  let offset = 0;
  for (const tensor of sets[0]!) {
    const varies = byName.some((map) => !sameValues(map.get(tensor.name)!.data, tensor.data));
    if (!varies) continue;
    const size = tensor.data.length;
    const position = positions.get(tensor.name)!;
    slots.push({ name: tensor.name, dims: tensor.dims, size, offset, depth: position.depth, layer: position.layer });
    offset += size;
  }
  return { slots, totalSize: offset };
}

/** Layout over the float initializers that differ across ONNX checkpoints of one architecture. */
export function mergedLayout(models: readonly OnnxModel[]): ParameterLayout {
  return layoutOfTensors(models.map(onnxFloatTensors), onnxPositions(models[0]!));
}

/** One checkpoint's merged tensors as a single flat vector in layout order. */
export function flattenTensors(tensors: readonly FloatTensor[], layout: ParameterLayout): Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const flat = new Float32Array(layout.totalSize);
  for (const slot of layout.slots) flat.set(byName.get(slot.name)!.data, slot.offset);
  return flat;
}

export function flattenParameters(model: OnnxModel, layout: ParameterLayout): Float32Array {
  return flattenTensors(onnxFloatTensors(model), layout);
}

/** Every tensor of a checkpoint, with the merged ones taken from a flat result (for export). */
export function assembleTensors(tensors: readonly FloatTensor[], layout: ParameterLayout, merged: Float32Array): FloatTensor[] {
  const bySlot = new Map(layout.slots.map((s) => [s.name, merged.subarray(s.offset, s.offset + s.size)]));
  return tensors.map((t) => ({ name: t.name, dims: t.dims, data: bySlot.get(t.name) ?? t.data }));
}
