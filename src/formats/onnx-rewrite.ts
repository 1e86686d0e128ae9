// ONNX graph rewrites that keep every byte they do not understand (nodes, attributes,
// unknown and newer fields are copied verbatim):
// - weightsToInputs: onnxruntime-web cannot override initializers at run time, so the
//   studio moves the float weights out of graph.initializer into graph inputs, creates
//   ONE session per architecture and feeds each candidate's weights per run;
// - replaceInitializerData: gives initializers new raw_data (embedded external data,
//   another checkpoint's weights, the merged model).
// Pure logic: Uint8Array in, Uint8Array out. Imports ./errors, ./onnx-wire, ./onnx-schema, ./onnx-read.

import { OnnxFormatError, listNames } from './errors';
import { WIRE_LEN, WireWriter, readFields, type WireField } from './onnx-wire';
import {
  ONNX_ELEMENT_SIZE, ONNX_FLOAT, onnxDataTypeName, MODEL_GRAPH, GRAPH_INITIALIZER, GRAPH_INPUT, TENSOR_DIMS,
  TENSOR_DATA_TYPE, TENSOR_NAME, TENSOR_RAW_DATA, VALUE_INFO_NAME, VALUE_INFO_TYPE, TYPE_TENSOR,
  TYPE_TENSOR_ELEM_TYPE, TYPE_TENSOR_SHAPE, SHAPE_DIM, DIM_VALUE,
} from './onnx-schema';
import { parseModelFields, parseTensorHeader, parseValueInfo, withFile } from './onnx-read';

function encodeFloatInput(name: string, dims: readonly number[]): WireWriter {
  const shape = new WireWriter();
  for (const d of dims) shape.messageField(SHAPE_DIM, new WireWriter().varintField(DIM_VALUE, d));
  const tensorType = new WireWriter().varintField(TYPE_TENSOR_ELEM_TYPE, ONNX_FLOAT).messageField(TYPE_TENSOR_SHAPE, shape);
  const type = new WireWriter().messageField(TYPE_TENSOR, tensorType);
  return new WireWriter().stringField(VALUE_INFO_NAME, name).messageField(VALUE_INFO_TYPE, type);
}

function rewriteGraph(
  bytes: Uint8Array,
  graph: WireField,
  names: ReadonlySet<string>,
  moved: Set<string>,
  fileName: string,
): WireWriter {
  // Pass 1: which initializers move, which inputs exist, and where inputs end.
  const existingInputs = new Set<string>();
  let lastInputEnd = -1;
  const newInputs: WireWriter[] = [];
  const drop = new Set<number>(); // tagStart of initializer fields to drop
  for (const f of readFields(bytes, graph.start, graph.end)) {
    if (f.num === GRAPH_INPUT && f.type === WIRE_LEN) {
      existingInputs.add(parseValueInfo(bytes, f).name);
      lastInputEnd = f.end;
    }
  }
  for (const f of readFields(bytes, graph.start, graph.end)) {
    if (f.num !== GRAPH_INITIALIZER || f.type !== WIRE_LEN) continue;
    const t = parseTensorHeader(bytes, f);
    if (!names.has(t.name)) continue;
    if (t.dataType !== ONNX_FLOAT) {
      throw new OnnxFormatError(
        fileName,
        `initializer "${t.name}" is ${onnxDataTypeName(t.dataType)}; only FLOAT initializers can become graph inputs`,
      );
    }
    drop.add(f.tagStart);
    moved.add(t.name);
    // IR < 4 models already list initializers as inputs; a second entry would be invalid.
    if (!existingInputs.has(t.name)) {
      existingInputs.add(t.name);
      newInputs.push(encodeFloatInput(t.name, t.dims));
    }
  }

  // Pass 2: copy every field verbatim except the dropped initializers; append the new
  // inputs right after the existing ones so graph input order stays natural.
  const out = new WireWriter();
  const emitInputs = () => {
    for (const v of newInputs) out.messageField(GRAPH_INPUT, v);
  };
  let cursor = graph.start;
  for (const f of readFields(bytes, graph.start, graph.end)) {
    if (drop.has(f.tagStart)) {
      out.raw(bytes.subarray(cursor, f.tagStart));
      cursor = f.end;
    }
    if (f.end === lastInputEnd) {
      out.raw(bytes.subarray(cursor, f.end));
      cursor = f.end;
      emitInputs();
    }
  }
  out.raw(bytes.subarray(cursor, graph.end));
  if (lastInputEnd < 0) emitInputs();
  return out;
}

/**
 * New model bytes in which each named FLOAT initializer is removed from
 * graph.initializer and declared as a graph input with its static shape. Everything
 * else (nodes, attributes, unknown and newer fields) is copied byte for byte.
 * Throws OnnxFormatError if a name is not a FLOAT initializer of the model.
 */
export function weightsToInputs(bytes: Uint8Array, names: ReadonlySet<string>, fileName = 'model.onnx'): Uint8Array {
  return rewriteGraphs(bytes, fileName, names, (graph, done) => rewriteGraph(bytes, graph, names, done, fileName));
}

/**
 * Model bytes with every graph field rebuilt by `rewrite` (which records the names it
 * handled in `done`) and everything else copied byte for byte; a name of `names` that no
 * graph handled is an OnnxFormatError.
 */
function rewriteGraphs(bytes: Uint8Array, fileName: string, names: Iterable<string>, rewrite: (graph: WireField, done: Set<string>) => WireWriter): Uint8Array {
  return withFile(fileName, () => {
    parseModelFields(bytes, fileName); // validates the top level and that a graph exists
    const done = new Set<string>();
    const out = new WireWriter();
    let cursor = 0;
    for (const f of readFields(bytes)) {
      if (f.num !== MODEL_GRAPH || f.type !== WIRE_LEN) continue;
      out.raw(bytes.subarray(cursor, f.tagStart));
      out.messageField(MODEL_GRAPH, rewrite(f, done));
      cursor = f.end;
    }
    out.raw(bytes.subarray(cursor));
    const missing = [...names].filter((n) => !done.has(n));
    if (missing.length > 0) {
      throw new OnnxFormatError(fileName, `no initializer named ${listNames(missing)}`);
    }
    return out.finish();
  });
}

/**
 * New model bytes in which each named initializer holds the given little-endian bytes as
 * raw_data (its dims and data type kept; float_data and external_data dropped). Used to
 * embed external data, to give a graph another checkpoint's weights, and to write the
 * merged model. Everything else is copied byte for byte.
 */
export function replaceInitializerData(bytes: Uint8Array, data: ReadonlyMap<string, Uint8Array>, fileName = 'model.onnx'): Uint8Array {
  return rewriteGraphs(bytes, fileName, data.keys(), (g, replaced) => {
    const graph = new WireWriter();
    let inner = g.start;
    for (const f of readFields(bytes, g.start, g.end)) {
      if (f.num !== GRAPH_INITIALIZER || f.type !== WIRE_LEN) continue;
      const t = parseTensorHeader(bytes, f);
      const values = data.get(t.name);
      if (!values) continue;
      const size = ONNX_ELEMENT_SIZE[t.dataType];
      const count = t.dims.reduce((n, d) => n * d, 1);
      if (size === undefined || values.byteLength !== Math.ceil(count * size)) {
        throw new OnnxFormatError(fileName, `initializer "${t.name}" (${onnxDataTypeName(t.dataType)} × [${t.dims.join(', ')}]) cannot take ${values.byteLength} bytes`);
      }
      graph.raw(bytes.subarray(inner, f.tagStart));
      const tensor = new WireWriter().packedVarints(TENSOR_DIMS, t.dims).varintField(TENSOR_DATA_TYPE, t.dataType).stringField(TENSOR_NAME, t.name).bytesField(TENSOR_RAW_DATA, values);
      graph.messageField(GRAPH_INITIALIZER, tensor);
      inner = f.end;
      replaced.add(t.name);
    }
    return graph.raw(bytes.subarray(inner, g.end));
  });
}
