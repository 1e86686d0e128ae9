// Causal-LM scoring inside the graph: a rewrite that appends, after the logits [batch, seq, vocab]
// of a decoder, the nodes that reduce them to the summed log-likelihood of each row's target
// tokens, so a run returns `batch` floats instead of batch × seq × vocab:
//   logp  = LogSoftmax(logits, axis = -1)                  [B, L, V]
//   pick  = GatherElements(logp, targets, axis = 2)        [B, L, 1]   targets: int64 [B, L, 1]
//   kept  = pick · Cast<float>(mask)                       [B, L, 1]   mask:    int64 [B, L, 1]
//   out   = ReduceSum(kept, axes = [1, 2], keepdims = 0)   [B]
// The caller shifts (the HF convention: logits at position t predict token t + 1): targets[b, t]
// is the token at t + 1 and mask[b, t] says whether that token counts. The new output replaces
// the graph's outputs (a run fetches every graph output, and the logits are what must not come
// back); every other byte is copied verbatim. Pure logic: Uint8Array in, Uint8Array out.

import { OnnxFormatError } from './errors';
import { readOnnx, withFile } from './onnx-read';
import {
  DIM_PARAM, DIM_VALUE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_NODE, GRAPH_OUTPUT, MODEL_GRAPH, NODE_ATTRIBUTE,
  NODE_DOMAIN, NODE_INPUT, NODE_OP_TYPE, NODE_OUTPUT, ONNX_FLOAT, ONNX_INT64, SHAPE_DIM, TENSOR_DATA_TYPE, TENSOR_DIMS,
  TENSOR_NAME, TENSOR_RAW_DATA, TYPE_TENSOR, TYPE_TENSOR_ELEM_TYPE, TYPE_TENSOR_SHAPE, VALUE_INFO_NAME, VALUE_INFO_TYPE,
} from './onnx-schema';
import { WIRE_LEN, WireWriter, readFields } from './onnx-wire';

/** int64 [batch, seq, 1]: the token each position predicts (any valid id where the mask is 0). */
export const LOGLIK_TARGETS_INPUT = 'evolver_loglik_targets';
/** int64 [batch, seq, 1]: 1 where the predicted token counts, else 0. */
export const LOGLIK_MASK_INPUT = 'evolver_loglik_mask';
/** float [batch]: Σ_t mask · log p(target | tokens ≤ t), per row. */
export const LOGLIK_OUTPUT = 'evolver_row_loglik';
const PREFIX = 'evolver_loglik/';

// NodeProto.name and AttributeProto fields (onnx.proto).
const NODE_NAME = 3;
const ATTR_NAME = 1;
const ATTR_I = 3;
const ATTR_TYPE = 20;
const ATTR_TYPE_INT = 2;

interface Attribute {
  name: string;
  int: number;
}

function node(op: string, inputs: string[], output: string, attributes: Attribute[] = []): WireWriter {
  const w = new WireWriter();
  for (const i of inputs) w.stringField(NODE_INPUT, i);
  w.stringField(NODE_OUTPUT, output).stringField(NODE_NAME, `${PREFIX}${op}`).stringField(NODE_OP_TYPE, op);
  for (const a of attributes) {
    w.messageField(NODE_ATTRIBUTE, new WireWriter().stringField(ATTR_NAME, a.name).varintField(ATTR_I, a.int).varintField(ATTR_TYPE, ATTR_TYPE_INT));
  }
  return w.stringField(NODE_DOMAIN, '');
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) {
    shape.messageField(SHAPE_DIM, typeof d === 'number' ? new WireWriter().varintField(DIM_VALUE, d) : new WireWriter().stringField(DIM_PARAM, d));
  }
  const tensorType = new WireWriter().varintField(TYPE_TENSOR_ELEM_TYPE, elemType).messageField(TYPE_TENSOR_SHAPE, shape);
  return new WireWriter().stringField(VALUE_INFO_NAME, name).messageField(VALUE_INFO_TYPE, new WireWriter().messageField(TYPE_TENSOR, tensorType));
}

function int64Tensor(name: string, values: number[]): WireWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new WireWriter().packedVarints(TENSOR_DIMS, [values.length]).varintField(TENSOR_DATA_TYPE, ONNX_INT64).stringField(TENSOR_NAME, name).bytesField(TENSOR_RAW_DATA, raw);
}

/** Whether a graph already carries the log-likelihood head (its inputs name the targets). */
export function hasRowLoglik(graph: { inputs: readonly { name: string }[] }): boolean {
  return graph.inputs.some((i) => i.name === LOGLIK_TARGETS_INPUT);
}

/**
 * Model bytes whose only output is LOGLIK_OUTPUT, the per-row summed log-likelihood of the
 * targets fed as LOGLIK_TARGETS_INPUT under LOGLIK_MASK_INPUT. The first graph output must be
 * float logits [batch, seq, vocab]; a graph that already has the head is returned as it is.
 */
export function addRowLoglik(bytes: Uint8Array, fileName = 'model.onnx'): Uint8Array {
  const model = readOnnx(bytes, fileName);
  if (hasRowLoglik(model)) return bytes;
  const logits = model.outputs[0];
  if (!logits) throw new OnnxFormatError(fileName, 'the graph has no outputs');
  if (logits.dims.length !== 3) {
    throw new OnnxFormatError(fileName, `output "${logits.name}" has shape [${logits.dims.join(', ')}]; a causal LM's logits are [batch, sequence, vocab]`);
  }
  if (logits.elemType !== ONNX_FLOAT) {
    throw new OnnxFormatError(fileName, `output "${logits.name}" is not float32; only float32 logits can be scored`);
  }
  const named = (d: number | string | undefined, fallback: string) => (d === undefined || d === '?' ? fallback : d);
  const batch = named(logits.dims[0], 'batch');
  const seq = named(logits.dims[1], 'sequence');
  // ReduceSum takes its axes as an input from opset 13 on (the form written here).
  if (model.opsetVersion !== 0 && model.opsetVersion < 13) {
    throw new OnnxFormatError(fileName, `opset ${model.opsetVersion} is too old for the log-likelihood head (needs 13 or later); export the model again with a newer opset`);
  }
  const n = (s: string) => `${PREFIX}${s}`;
  const nodes = [
    node('LogSoftmax', [logits.name], n('logp'), [{ name: 'axis', int: -1 }]),
    node('GatherElements', [n('logp'), LOGLIK_TARGETS_INPUT], n('picked'), [{ name: 'axis', int: 2 }]),
    node('Cast', [LOGLIK_MASK_INPUT], n('mask'), [{ name: 'to', int: ONNX_FLOAT }]),
    node('Mul', [n('picked'), n('mask')], n('kept')),
    node('ReduceSum', [n('kept'), n('axes')], LOGLIK_OUTPUT, [{ name: 'keepdims', int: 0 }]),
  ];
  return withFile(fileName, () => {
    const out = new WireWriter();
    let cursor = 0;
    let done = false;
    for (const f of readFields(bytes)) {
      if (f.num !== MODEL_GRAPH || f.type !== WIRE_LEN || done) continue;
      done = true;
      out.raw(bytes.subarray(cursor, f.tagStart));
      const graph = new WireWriter();
      let inner = f.start;
      for (const g of readFields(bytes, f.start, f.end)) {
        if (g.num !== GRAPH_OUTPUT || g.type !== WIRE_LEN) continue;
        graph.raw(bytes.subarray(inner, g.tagStart));
        inner = g.end;
      }
      graph.raw(bytes.subarray(inner, f.end));
      for (const nd of nodes) graph.messageField(GRAPH_NODE, nd);
      graph.messageField(GRAPH_INITIALIZER, int64Tensor(n('axes'), [1, 2]));
      graph.messageField(GRAPH_INPUT, valueInfo(LOGLIK_TARGETS_INPUT, ONNX_INT64, [batch, seq, 1]));
      graph.messageField(GRAPH_INPUT, valueInfo(LOGLIK_MASK_INPUT, ONNX_INT64, [batch, seq, 1]));
      graph.messageField(GRAPH_OUTPUT, valueInfo(LOGLIK_OUTPUT, ONNX_FLOAT, [batch]));
      out.messageField(MODEL_GRAPH, graph);
      cursor = f.end;
    }
    return out.raw(bytes.subarray(cursor)).finish();
  });
}
