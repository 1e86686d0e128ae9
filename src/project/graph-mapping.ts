/**
 * Which safetensors tensor feeds which initializer of an ONNX graph.
 *
 * Safetensors checkpoints carry the training framework's names (torch: "layers.0.attn.q.weight",
 * [out, in]); the ONNX export of the same model may keep them or rename and transpose them
 * (torch.onnx folds nn.Linear into MatMul on a transposed "onnx::MatMul_123"). Names are
 * matched first; what is left is matched by value against the checkpoint the graph was
 * exported from (the one whose weights the graph itself holds), straight or transposed,
 * within the rounding of the checkpoint's dtype (a BF16 checkpoint of the graph's F32
 * weights agrees to 2⁻⁸ relative). The mapping found there holds for every checkpoint
 * of the architecture, since they share names. Pure module.
 */
import type { OnnxModel } from '../formats/onnx-read';
import type { SafetensorsDtype } from '../formats/safetensors-format';
import { floatInitializers, type FloatTensor } from '../merge/layout';
import { type MappedTensor } from '../protocol/project';

export interface SourceCheckpoint {
  name: string;
  /** The dtype most of its float tensors have (what the user will want back on export). */
  dtype: SafetensorsDtype;
  /** Its float tensors as float32, in file order. */
  tensors: FloatTensor[];
  /** Its tensors that are not floats (I64 position ids, masks) as stored: never merged, copied into exports. */
  raw?: RawTensor[];
}

/** A float tensor's name and shape, without its values. */
export interface TensorShape {
  name: string;
  dims: number[];
}

/**
 * What a loaded safetensors checkpoint keeps of its own tensors once its values are in the
 * graph: names and shapes of all, values only of those the graph has no place for. The
 * mapped values live once, in the graph's initializers; keeping them here too would hold
 * every parameter twice in float32.
 */
export interface KeptCheckpoint {
  name: string;
  dtype: SafetensorsDtype;
  /** Every float tensor's name and shape, in file order (what an export under its own names writes). */
  shapes: TensorShape[];
  /** The float tensors no mapping entry feeds the graph from, with their values (exported as they are). */
  unmapped: FloatTensor[];
  raw?: RawTensor[];
}

/** A tensor kept as its stored bytes (not merged): e.g. I64 position ids. */
export interface RawTensor {
  name: string;
  dtype: string;
  dims: number[];
  bytes: Uint8Array;
}

export interface GraphMapping {
  entries: MappedTensor[];
  /** Float initializers of the graph no checkpoint tensor feeds: they keep the graph's values. */
  unmappedInitializers: string[];
  /** Checkpoint tensors the graph has no place for: exported from the first model as they are. */
  unmappedTensors: string[];
  /** The checkpoint whose values matched the graph's, when value matching was needed and found one. */
  reference: string | null;
}

/** Relative agreement a value must reach to match, by the checkpoint's dtype (its rounding, with room). */
const TOLERANCE: Partial<Record<SafetensorsDtype, number>> = { BF16: 2 ** -7, F16: 2 ** -10, F32: 2 ** -20, F64: 2 ** -20 };
/** Below this magnitude values match absolutely (F16 subnormals, BF16 of tiny weights). */
const ABSOLUTE = 2 ** -24;

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function transposedDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === 2 && b.length === 2 && a[0] === b[1] && a[1] === b[0];
}

function close(a: number, b: number, tolerance: number): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b)) + ABSOLUTE;
}

/** Whether the graph's values equal the tensor's (read transposed when asked), within the dtype's rounding. */
function valuesMatch(graph: Float32Array, tensor: FloatTensor, transposed: boolean, tolerance: number): boolean {
  const data = tensor.data;
  if (data.length !== graph.length) return false;
  if (!transposed) {
    for (let i = 0; i < data.length; i++) if (!close(graph[i]!, data[i]!, tolerance)) return false;
    return true;
  }
  // Graph [cols, rows] holds the tensor's [rows, cols] transposed.
  const [rows, cols] = tensor.dims as [number, number];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (!close(graph[c * rows + r]!, data[r * cols + c]!, tolerance)) return false;
  }
  return true;
}

interface GraphTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** Value matches of the unmatched graph tensors against one checkpoint's unmatched tensors. */
function matchByValue(graph: readonly GraphTensor[], checkpoint: SourceCheckpoint, taken: ReadonlySet<string>): MappedTensor[] {
  const tolerance = TOLERANCE[checkpoint.dtype] ?? 2 ** -7;
  const used = new Set(taken);
  const found: MappedTensor[] = [];
  for (const init of graph) {
    for (const tensor of checkpoint.tensors) {
      if (used.has(tensor.name)) continue;
      // Square matrices fit both ways: the values decide.
      const straight = sameDims(init.dims, tensor.dims) && valuesMatch(init.data, tensor, false, tolerance);
      const transposed = !straight && transposedDims(init.dims, tensor.dims) && valuesMatch(init.data, tensor, true, tolerance);
      if (!straight && !transposed) continue;
      found.push({ initializer: init.name, tensor: tensor.name, transposed, how: 'value' });
      used.add(tensor.name);
      break;
    }
  }
  return found;
}

/** Maps the checkpoints' tensors onto the graph's float initializers (names first, then values). */
export function mapToGraph(graph: OnnxModel, checkpoints: readonly SourceCheckpoint[]): GraphMapping {
  const first = checkpoints[0];
  if (!first) throw new Error('no safetensors checkpoint to map');
  const initializers: GraphTensor[] = floatInitializers(graph).map((i) => ({ name: i.name, dims: i.dims, data: i.floats! }));
  const tensorByName = new Map(first.tensors.map((t) => [t.name, t]));
  const entries: MappedTensor[] = [];
  const byValue: GraphTensor[] = [];
  for (const init of initializers) {
    const tensor = tensorByName.get(init.name);
    if (tensor && sameDims(init.dims, tensor.dims)) entries.push({ initializer: init.name, tensor: tensor.name, transposed: false, how: 'name' });
    else if (tensor && transposedDims(init.dims, tensor.dims)) entries.push({ initializer: init.name, tensor: tensor.name, transposed: true, how: 'name' });
    else byValue.push(init);
  }
  let reference: string | null = null;
  if (byValue.length > 0) {
    const taken = new Set(entries.map((e) => e.tensor));
    // The checkpoint the graph was exported from matches the most; ties go to the first.
    let best: MappedTensor[] = [];
    for (const checkpoint of checkpoints) {
      const found = matchByValue(byValue, checkpoint, taken);
      if (found.length > best.length) {
        best = found;
        reference = checkpoint.name;
      }
    }
    entries.push(...best);
  }
  const mappedInitializers = new Set(entries.map((e) => e.initializer));
  const mappedTensors = new Set(entries.map((e) => e.tensor));
  // Graph order, so the mapping table reads like the model.
  const order = new Map(initializers.map((i, k) => [i.name, k]));
  entries.sort((a, b) => order.get(a.initializer)! - order.get(b.initializer)!);
  return {
    entries,
    unmappedInitializers: initializers.filter((i) => !mappedInitializers.has(i.name)).map((i) => i.name),
    unmappedTensors: first.tensors.filter((t) => !mappedTensors.has(t.name)).map((t) => t.name),
    reference,
  };
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/**
 * A checkpoint's values for the graph's initializers, by initializer name. Throws naming
 * the checkpoint when it lacks a mapped tensor or has it in another shape.
 */
export function graphValues(mapping: GraphMapping, checkpoint: SourceCheckpoint): Map<string, Float32Array> {
  const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
  const values = new Map<string, Float32Array>();
  for (const entry of mapping.entries) {
    const tensor = byName.get(entry.tensor);
    if (!tensor) throw new Error(`${checkpoint.name} has no tensor "${entry.tensor}", which the other checkpoints have.`);
    values.set(entry.initializer, entry.transposed ? transpose(tensor.data, tensor.dims[0]!, tensor.dims[1]!) : tensor.data);
  }
  return values;
}

/** A checkpoint as kept after its values went into the graph: the mapped tensors' values are dropped. */
export function keptCheckpoint(mapping: GraphMapping, checkpoint: SourceCheckpoint): KeptCheckpoint {
  const mapped = new Set(mapping.entries.map((e) => e.tensor));
  const kept: KeptCheckpoint = {
    name: checkpoint.name,
    dtype: checkpoint.dtype,
    shapes: checkpoint.tensors.map((t) => ({ name: t.name, dims: t.dims })),
    unmapped: checkpoint.tensors.filter((t) => !mapped.has(t.name)),
  };
  return checkpoint.raw ? { ...kept, raw: checkpoint.raw } : kept;
}

/**
 * The checkpoint's own tensors (names, shapes, order) with the graph's values put back:
 * what an export "with the original tensor names" holds. Unmapped tensors come from
 * `template` unchanged.
 */
export function sourceTensors(mapping: GraphMapping, template: KeptCheckpoint, initializerValues: ReadonlyMap<string, Float32Array>): FloatTensor[] {
  const byTensor = new Map(mapping.entries.map((e) => [e.tensor, e]));
  const unmapped = new Map(template.unmapped.map((t) => [t.name, t]));
  return template.shapes.map((t) => {
    const entry = byTensor.get(t.name);
    if (!entry) {
      const own = unmapped.get(t.name);
      // keptCheckpoint keeps the values of every tensor the mapping does not feed.
      if (!own) throw new Error(`${template.name}: no values kept for "${t.name}", which the graph has no place for.`);
      return own;
    }
    const values = initializerValues.get(entry.initializer)!;
    // Graph [cols, rows] back to the checkpoint's [rows, cols].
    return { name: t.name, dims: t.dims, data: entry.transposed ? transpose(values, t.dims[1]!, t.dims[0]!) : values };
  });
}
