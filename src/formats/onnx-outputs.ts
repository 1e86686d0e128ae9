// Activation capture support for data-aware merging (RegMean): which tensors feed the
// graph's linear layers, and a rewrite that makes those tensors extra graph outputs so
// one ORT run returns them next to the logits.
// A linear layer is a MatMul whose second operand is a 2-D FLOAT initializer (ONNX
// MatMul computes x·W, so W is [in, out]: torch exports store the torch weight
// transposed as `onnx::MatMul_*`) or a Gemm with a 2-D initializer B (transB = 1: B is
// [out, in] like torch; transB = 0: [in, out]). OnnxModel keeps only a digest of node
// attributes, so Gemm's transA/transB are read here from the raw NodeProto bytes.
// Pure logic over the protobuf wire format: Uint8Array in, Uint8Array / plain objects out.

import { OnnxFormatError } from './errors';
import { ONNX_FLOAT } from './onnx-schema';
import { readOnnx, withFile, type OnnxModel } from './onnx-read';
import { WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, WireWriter, fieldString, readFields, type WireField } from './onnx-wire';

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_OUTPUT = 12;
const NODE_ATTRIBUTE = 5;
const ATTR_NAME = 1;
const ATTR_F = 2;
const ATTR_I = 3;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TYPE_TENSOR_ELEM_TYPE = 1;

export type LinearLayout = 'in-out' | 'out-in';

export interface LinearLayer {
  /** FLOAT initializer holding the weight. */
  weightName: string;
  /** Activation tensor the layer multiplies (rows = tokens, last axis = inDim). */
  inputName: string;
  /** 'in-out': stored [in, out] (MatMul, Gemm transB = 0); 'out-in': [out, in] (Gemm transB = 1). */
  layout: LinearLayout;
  inDim: number;
  outDim: number;
  /** 1-D FLOAT initializer of length outDim added right after (Add after MatMul, or Gemm's C). */
  biasName?: string;
  /** 'MatMul' or 'Gemm'. */
  opType: string;
  /** Index of the node in OnnxModel.nodes. */
  nodeIndex: number;
}

/** Int (i) and float (f) scalar attributes of one node, by name. */
export type NodeScalarAttributes = Map<string, number>;

function graphFields(bytes: Uint8Array): WireField[] {
  const graphs: WireField[] = [];
  for (const f of readFields(bytes)) if (f.num === MODEL_GRAPH && f.type === WIRE_LEN) graphs.push(f);
  return graphs;
}

/**
 * Scalar int/float attributes of every top-level node, in the order of
 * readOnnx(bytes).nodes (repeated graph fields concatenate, as there).
 */
export function readNodeScalarAttributes(bytes: Uint8Array, fileName = 'model.onnx'): NodeScalarAttributes[] {
  return withFile(fileName, () => {
    const out: NodeScalarAttributes[] = [];
    for (const g of graphFields(bytes)) {
      for (const f of readFields(bytes, g.start, g.end)) {
        if (f.num !== GRAPH_NODE || f.type !== WIRE_LEN) continue;
        const attrs: NodeScalarAttributes = new Map();
        for (const n of readFields(bytes, f.start, f.end)) {
          if (n.num !== NODE_ATTRIBUTE || n.type !== WIRE_LEN) continue;
          let name = '';
          let value: number | undefined;
          for (const a of readFields(bytes, n.start, n.end)) {
            if (a.num === ATTR_NAME && a.type === WIRE_LEN) name = fieldString(bytes, a);
            else if (a.num === ATTR_I && a.type === WIRE_VARINT) value = a.signed;
            else if (a.num === ATTR_F && a.type === WIRE_FIXED32) {
              value = new DataView(bytes.buffer, bytes.byteOffset + a.start, 4).getFloat32(0, true);
            }
          }
          if (name !== '' && value !== undefined) attrs.set(name, value);
        }
        out.push(attrs);
      }
    }
    return out;
  });
}

/**
 * Every linear layer of the graph, in node order. `bytes` are the model's bytes (for
 * node attributes); `model` is readOnnx(bytes) when the caller has it already.
 * Left out on purpose: weights that any other node also reads (tied embeddings: one
 * Gram matrix cannot describe two uses), MatMuls whose first operand is itself an
 * initializer, and Gemm with transA = 1 (its rows are not tokens).
 */
export function findLinearLayers(bytes: Uint8Array, model?: OnnxModel, fileName = 'model.onnx'): LinearLayer[] {
  const m = model ?? readOnnx(bytes, fileName);
  const attributes = readNodeScalarAttributes(bytes, fileName);
  if (attributes.length !== m.nodes.length) {
    throw new OnnxFormatError(fileName, `the model has ${m.nodes.length} nodes but its bytes hold ${attributes.length}; pass the model parsed from these bytes`);
  }
  const initializers = new Map(m.initializers.map((t) => [t.name, t]));
  const uses = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  m.nodes.forEach((node, index) => {
    for (const name of node.inputs) {
      if (name === '') continue;
      uses.set(name, (uses.get(name) ?? 0) + 1);
      const list = consumers.get(name);
      if (list) list.push(index);
      else consumers.set(name, [index]);
    }
  });
  const floatMatrix = (name: string | undefined) => {
    const t = name === undefined ? undefined : initializers.get(name);
    return t && t.dataType === ONNX_FLOAT && t.dims.length === 2 && !t.external ? t : undefined;
  };
  const floatVector = (name: string | undefined, length: number) => {
    const t = name === undefined ? undefined : initializers.get(name);
    return t !== undefined && t.dataType === ONNX_FLOAT && t.dims.length === 1 && t.dims[0] === length ? t : undefined;
  };

  const layers: LinearLayer[] = [];
  m.nodes.forEach((node, nodeIndex) => {
    if (node.domain !== '') return;
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') return;
    const [x, wName] = node.inputs;
    const w = floatMatrix(wName);
    if (!x || !w || initializers.has(x) || uses.get(w.name) !== 1) return;
    let layout: LinearLayout = 'in-out';
    let biasName: string | undefined;
    if (node.opType === 'Gemm') {
      const attrs = attributes[nodeIndex]!;
      if ((attrs.get('transA') ?? 0) !== 0) return;
      layout = (attrs.get('transB') ?? 0) !== 0 ? 'out-in' : 'in-out';
      const outDim = layout === 'out-in' ? w.dims[0]! : w.dims[1]!;
      const c = node.inputs[2];
      if (floatVector(c, outDim) && uses.get(c!) === 1) biasName = c;
    } else {
      const outDim = w.dims[1]!;
      const after = consumers.get(node.outputs[0] ?? '') ?? [];
      if (after.length === 1) {
        const add = m.nodes[after[0]!]!;
        if (add.opType === 'Add' && add.domain === '' && add.inputs.length === 2) {
          const other = add.inputs[0] === node.outputs[0] ? add.inputs[1] : add.inputs[0];
          if (floatVector(other, outDim) && uses.get(other!) === 1) biasName = other;
        }
      }
    }
    const [d0, d1] = w.dims as [number, number];
    const layer: LinearLayer = {
      weightName: w.name,
      inputName: x,
      layout,
      inDim: layout === 'in-out' ? d0 : d1,
      outDim: layout === 'in-out' ? d1 : d0,
      opType: node.opType,
      nodeIndex,
    };
    if (biasName !== undefined) layer.biasName = biasName;
    layers.push(layer);
  });
  return layers;
}

/** ValueInfoProto { name, type { tensor_type { elem_type: FLOAT } } }: no shape, so any rank is accepted. */
function floatOutput(name: string): WireWriter {
  const tensorType = new WireWriter().varintField(TYPE_TENSOR_ELEM_TYPE, ONNX_FLOAT);
  const type = new WireWriter().messageField(TYPE_TENSOR, tensorType);
  return new WireWriter().stringField(VALUE_INFO_NAME, name).messageField(VALUE_INFO_TYPE, type);
}

/**
 * New model bytes whose graph also outputs the named intermediate FLOAT tensors, after
 * the existing outputs. Each name must be produced by a top-level node; names that are
 * already graph outputs are kept once. Everything else is copied byte for byte.
 * The added outputs carry elem_type FLOAT and no shape, which onnxruntime accepts.
 */
export function addGraphOutputs(bytes: Uint8Array, names: readonly string[], fileName = 'model.onnx'): Uint8Array {
  return withFile(fileName, () => {
    const graphs = graphFields(bytes);
    if (graphs.length === 0) throw new OnnxFormatError(fileName, 'no graph');
    const produced = new Set<string>();
    const existing = new Set<string>();
    for (const g of graphs) {
      for (const f of readFields(bytes, g.start, g.end)) {
        if (f.type !== WIRE_LEN) continue;
        if (f.num === GRAPH_NODE) {
          for (const n of readFields(bytes, f.start, f.end)) if (n.num === 2 && n.type === WIRE_LEN) produced.add(fieldString(bytes, n));
        } else if (f.num === GRAPH_OUTPUT) {
          for (const v of readFields(bytes, f.start, f.end)) if (v.num === VALUE_INFO_NAME && v.type === WIRE_LEN) existing.add(fieldString(bytes, v));
        }
      }
    }
    const missing = names.filter((n) => !produced.has(n));
    if (missing.length > 0) {
      const shown = missing.slice(0, 5).map((n) => `"${n}"`).join(', ');
      throw new OnnxFormatError(fileName, `no node produces ${shown}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    }
    const added = [...new Set(names)].filter((n) => !existing.has(n));

    // Append to the last graph field: repeated fields concatenate, so the new outputs follow the old ones.
    const last = graphs[graphs.length - 1]!;
    const graph = new WireWriter().raw(bytes.subarray(last.start, last.end));
    for (const n of added) graph.messageField(GRAPH_OUTPUT, floatOutput(n));
    return new WireWriter()
      .raw(bytes.subarray(0, last.tagStart))
      .messageField(MODEL_GRAPH, graph)
      .raw(bytes.subarray(last.end))
      .finish();
  });
}
