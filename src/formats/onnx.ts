// ONNX model reader, weights-to-inputs rewriter and architecture comparison.
// onnxruntime-web cannot override initializers at run time, so the studio moves the
// float weights out of graph.initializer into graph inputs (weightsToInputs), creates
// ONE session per architecture and feeds each candidate's weights per run. That makes
// "same architecture" a hard requirement, checked by architectureSignature and
// explained to the user by describeArchitectureDifference.
// Parsing walks the protobuf wire format (./onnx-wire) in one pass: only FLOAT
// initializer values are copied (raw_data sits at unaligned offsets); other tensor
// data are skipped. Pure logic: Uint8Array in, plain objects out.

import { OnnxFormatError, ProtobufWireError } from './errors';
import {
  WIRE_FIXED32,
  WIRE_LEN,
  WIRE_VARINT,
  WireWriter,
  fieldString,
  pushVarints,
  readFields,
  type WireField,
} from './onnx-wire';

// TensorProto.DataType
export const ONNX_UNDEFINED = 0;
export const ONNX_FLOAT = 1;
export const ONNX_UINT8 = 2;
export const ONNX_INT8 = 3;
export const ONNX_UINT16 = 4;
export const ONNX_INT16 = 5;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
export const ONNX_STRING = 8;
export const ONNX_BOOL = 9;
export const ONNX_FLOAT16 = 10;
export const ONNX_DOUBLE = 11;
export const ONNX_UINT32 = 12;
export const ONNX_UINT64 = 13;
export const ONNX_COMPLEX64 = 14;
export const ONNX_COMPLEX128 = 15;
export const ONNX_BFLOAT16 = 16;
export const ONNX_FLOAT8E4M3FN = 17;
export const ONNX_FLOAT8E4M3FNUZ = 18;
export const ONNX_FLOAT8E5M2 = 19;
export const ONNX_FLOAT8E5M2FNUZ = 20;
export const ONNX_UINT4 = 21;
export const ONNX_INT4 = 22;

const DATA_TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
};

/** Bytes per element (0.5 for 4-bit types); undefined for STRING and unknown types. */
const ELEMENT_SIZE: Record<number, number> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2,
  17: 1, 18: 1, 19: 1, 20: 1, 21: 0.5, 22: 0.5,
};

export function onnxDataTypeName(dataType: number): string {
  return DATA_TYPE_NAMES[dataType] ?? `type ${dataType}`;
}

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor input/output; 0 for non-tensor types. */
  elemType: number;
  /** Static sizes as numbers, symbolic ones as their dim_param, '?' when unnamed; [] when the shape is absent. */
  dims: (number | string)[];
}

export interface OnnxInitializer {
  name: string;
  dataType: number;
  dims: number[];
  /** float32 values for FLOAT initializers (copied, aligned), else null (also null when external). */
  floats: Float32Array | null;
  /** Size of the tensor's data: element count × element size (STRING: total string bytes). */
  byteLength: number;
  /** Data lives in an external file (data_location = EXTERNAL); no values were read. */
  external: boolean;
  /** Where the external data is (external_data entries), when `external` and they name a location. */
  externalData: ExternalDataRef | null;
}

/** An initializer's bytes in an external data file (`*.onnx_data`), as onnx.proto's external_data keys say. */
export interface ExternalDataRef {
  /** Path relative to the .onnx file's folder. */
  location: string;
  offset: number;
  /** Bytes; null when the entry leaves it out (then the tensor's size says). */
  length: number | null;
}

export interface OnnxNode {
  opType: string;
  /** Operator domain; '' is the default ai.onnx domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Hash of the node's serialized attributes, so changed attributes change the signature. */
  attributesDigest: string;
}

export interface OnnxModel {
  irVersion: number;
  /** Opset of the default (ai.onnx) domain; 0 when the model imports none. */
  opsetVersion: number;
  /** graph.input in file order (models with IR < 4 also list their initializers here). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializer[];
  nodes: OnnxNode[];
}

// Field numbers from onnx.proto.
const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_STRING_DATA = 6;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TYPE_TENSOR_ELEM_TYPE = 1;
const TYPE_TENSOR_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;
const DATA_LOCATION_EXTERNAL = 1;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** Run `fn`, turning wire errors into OnnxFormatError naming the file. */
export function withFile<T>(fileName: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtobufWireError) throw new OnnxFormatError(fileName, e.message);
    throw e;
  }
}

function expectType(f: WireField, type: number, what: string): void {
  if (f.type !== type) {
    throw new ProtobufWireError(`${what} (field ${f.num}) at byte ${f.tagStart} has wire type ${f.type}, expected ${type}`, f.tagStart);
  }
}

/**
 * Cheap check on the first bytes of a file (a partial head is enough). ONNX has no
 * magic number, so this walks the leading ModelProto fields and accepts when each has
 * a ModelProto field number with the right wire type and ir_version or graph appears.
 */
export function sniffOnnx(bytes: Uint8Array): boolean {
  const expected: Record<number, number> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2 };
  let sawIr = false;
  let pos = 0;
  for (let i = 0; i < 16 && pos < bytes.length; i++) {
      // Read only the tag and, for LEN fields, the length; the payload may lie beyond the head.
      const tagByte = bytes[pos]!;
      const type = tagByte & 7;
      const num = tagByte >> 3;
      if (tagByte & 0x80 || expected[num] !== type) return false;
      pos++;
      let value = 0;
      let p = pos;
      let shift = 1;
      for (;;) {
        if (p >= bytes.length) return sawIr || num === MODEL_GRAPH;
        const b = bytes[p++]!;
        value += (b & 0x7f) * shift;
        shift *= 128;
        if (!(b & 0x80)) break;
        if (p - pos >= 10) return false;
      }
      if (num === MODEL_GRAPH) return true;
      if (num === MODEL_IR_VERSION) {
        if (value < 1 || value > 100) return false;
        sawIr = true;
      }
      pos = type === WIRE_LEN ? p + value : p;
  }
  return sawIr;
}

function parseValueInfo(bytes: Uint8Array, f: WireField): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, dims: [] };
  for (const v of readFields(bytes, f.start, f.end)) {
    if (v.num === VALUE_INFO_NAME) {
      expectType(v, WIRE_LEN, 'ValueInfoProto.name');
      info.name = fieldString(bytes, v);
    } else if (v.num === VALUE_INFO_TYPE) {
      expectType(v, WIRE_LEN, 'ValueInfoProto.type');
      for (const t of readFields(bytes, v.start, v.end)) {
        if (t.num !== TYPE_TENSOR || t.type !== WIRE_LEN) continue;
        for (const tt of readFields(bytes, t.start, t.end)) {
          if (tt.num === TYPE_TENSOR_ELEM_TYPE && tt.type === WIRE_VARINT) info.elemType = tt.value;
          else if (tt.num === TYPE_TENSOR_SHAPE && tt.type === WIRE_LEN) {
            for (const d of readFields(bytes, tt.start, tt.end)) {
              if (d.num !== SHAPE_DIM || d.type !== WIRE_LEN) continue;
              let dim: number | string = '?';
              for (const dv of readFields(bytes, d.start, d.end)) {
                if (dv.num === DIM_VALUE && dv.type === WIRE_VARINT) dim = dv.signed;
                else if (dv.num === DIM_PARAM && dv.type === WIRE_LEN) dim = fieldString(bytes, dv);
              }
              info.dims.push(dim);
            }
          }
        }
      }
    }
  }
  return info;
}

const FNV_PRIME = 0x01000193;

/** Two independent 32-bit FNV-1a lanes over a byte range, as 16 hex digits. */
function digestBytes(bytes: Uint8Array, ranges: readonly [number, number][]): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const [s, e] of ranges) {
    for (let i = s; i < e; i++) {
      const x = bytes[i]!;
      a = Math.imul(a ^ x, FNV_PRIME);
      b = Math.imul(b ^ x ^ 0x5a, 0x01000197);
    }
    a = Math.imul(a ^ 0xff, FNV_PRIME); // separator between attributes
    b = Math.imul(b ^ 0xa5, 0x01000197);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

function parseNode(bytes: Uint8Array, f: WireField): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', inputs: [], outputs: [], attributesDigest: '' };
  const attributes: [number, number][] = [];
  for (const n of readFields(bytes, f.start, f.end)) {
    switch (n.num) {
      case NODE_INPUT:
        expectType(n, WIRE_LEN, 'NodeProto.input');
        node.inputs.push(fieldString(bytes, n));
        break;
      case NODE_OUTPUT:
        expectType(n, WIRE_LEN, 'NodeProto.output');
        node.outputs.push(fieldString(bytes, n));
        break;
      case NODE_OP_TYPE:
        expectType(n, WIRE_LEN, 'NodeProto.op_type');
        node.opType = fieldString(bytes, n);
        break;
      case NODE_DOMAIN:
        expectType(n, WIRE_LEN, 'NodeProto.domain');
        node.domain = fieldString(bytes, n);
        break;
      case NODE_ATTRIBUTE:
        attributes.push([n.start, n.end]);
        break;
    }
  }
  if (node.domain === 'ai.onnx') node.domain = '';
  node.attributesDigest = attributes.length ? digestBytes(bytes, attributes) : '';
  return node;
}

interface TensorHeader {
  name: string;
  dataType: number;
  dims: number[];
  external: boolean;
  externalEntries: Map<string, string>;
  raw: WireField | null;
  /** float_data: packed LEN fields or single fixed32 fields, in order. */
  floatFields: WireField[];
  stringBytes: number;
}

function parseTensorHeader(bytes: Uint8Array, f: WireField): TensorHeader {
  const t: TensorHeader = { name: '', dataType: 0, dims: [], external: false, externalEntries: new Map(), raw: null, floatFields: [], stringBytes: 0 };
  for (const x of readFields(bytes, f.start, f.end)) {
    switch (x.num) {
      case TENSOR_DIMS:
        pushVarints(bytes, x, t.dims);
        break;
      case TENSOR_DATA_TYPE:
        expectType(x, WIRE_VARINT, 'TensorProto.data_type');
        t.dataType = x.value;
        break;
      case TENSOR_FLOAT_DATA:
        if (x.type !== WIRE_LEN) expectType(x, WIRE_FIXED32, 'TensorProto.float_data');
        t.floatFields.push(x);
        break;
      case TENSOR_STRING_DATA:
        expectType(x, WIRE_LEN, 'TensorProto.string_data');
        t.stringBytes += x.end - x.start;
        break;
      case TENSOR_NAME:
        expectType(x, WIRE_LEN, 'TensorProto.name');
        t.name = fieldString(bytes, x);
        break;
      case TENSOR_RAW_DATA:
        expectType(x, WIRE_LEN, 'TensorProto.raw_data');
        t.raw = x;
        break;
      case TENSOR_EXTERNAL_DATA: {
        expectType(x, WIRE_LEN, 'TensorProto.external_data');
        t.external = true;
        let key = '';
        let value = '';
        for (const e of readFields(bytes, x.start, x.end)) {
          if (e.num === ENTRY_KEY && e.type === WIRE_LEN) key = fieldString(bytes, e);
          else if (e.num === ENTRY_VALUE && e.type === WIRE_LEN) value = fieldString(bytes, e);
        }
        t.externalEntries.set(key, value);
        break;
      }
      case TENSOR_DATA_LOCATION:
        expectType(x, WIRE_VARINT, 'TensorProto.data_location');
        if (x.value === DATA_LOCATION_EXTERNAL) t.external = true;
        break;
    }
  }
  return t;
}

function parseInitializer(bytes: Uint8Array, f: WireField, fileName: string): OnnxInitializer {
  const t = parseTensorHeader(bytes, f);
  const fail = (detail: string): never => {
    throw new OnnxFormatError(fileName, `initializer "${t.name}" ${detail}`);
  };
  let count = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`has invalid dims [${t.dims.join(', ')}]`);
    count *= d;
  }
  const size = ELEMENT_SIZE[t.dataType];
  const expectedBytes = size === undefined ? 0 : Math.ceil(count * size);
  let byteLength = t.dataType === ONNX_STRING ? t.stringBytes : expectedBytes;
  let floats: Float32Array | null = null;
  if (!t.external) {
    if (t.raw) {
      const rawBytes = t.raw.end - t.raw.start;
      if (size !== undefined && rawBytes !== expectedBytes) {
        fail(
          `raw_data has ${rawBytes} bytes but ${onnxDataTypeName(t.dataType)} × [${t.dims.join(', ')}] needs ${expectedBytes}`,
        );
      }
      if (size === undefined) byteLength = rawBytes;
      // slice() copies into a fresh, aligned buffer: raw_data offsets are arbitrary.
      if (t.dataType === ONNX_FLOAT) floats = new Float32Array(bytes.slice(t.raw.start, t.raw.end).buffer);
    } else if (t.dataType === ONNX_FLOAT) {
      let total = 0;
      for (const x of t.floatFields) total += x.type === WIRE_LEN ? x.end - x.start : 4;
      if (total !== count * 4) fail(`float_data has ${total / 4} values but dims [${t.dims.join(', ')}] need ${count}`);
      floats = new Float32Array(count);
      const dst = new Uint8Array(floats.buffer);
      let pos = 0;
      for (const x of t.floatFields) {
        dst.set(bytes.subarray(x.start, x.end), pos);
        pos += x.end - x.start;
      }
    }
  }
  return { name: t.name, dataType: t.dataType, dims: t.dims, floats, byteLength, external: t.external, externalData: t.external ? externalDataRef(t, fail) : null };
}

/** Null when the entries name no location: resolving the data then says so. */
function externalDataRef(t: TensorHeader, fail: (detail: string) => never): ExternalDataRef | null {
  const location = t.externalEntries.get('location');
  if (!location) return null;
  const number = (key: string): number | null => {
    const text = t.externalEntries.get(key);
    if (text === undefined) return null;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0) fail(`has external_data ${key} "${text}", not a byte count`);
    return n;
  };
  return { location, offset: number('offset') ?? 0, length: number('length') };
}

interface ModelFields {
  irVersion: number;
  opsetVersion: number;
  graphs: WireField[];
}

function parseModelFields(bytes: Uint8Array, fileName: string): ModelFields {
  const m: ModelFields = { irVersion: 0, opsetVersion: 0, graphs: [] };
  for (const f of readFields(bytes)) {
    if (f.num === MODEL_IR_VERSION) {
      expectType(f, WIRE_VARINT, 'ModelProto.ir_version');
      m.irVersion = f.value;
    } else if (f.num === MODEL_GRAPH) {
      expectType(f, WIRE_LEN, 'ModelProto.graph');
      m.graphs.push(f);
    } else if (f.num === MODEL_OPSET_IMPORT) {
      expectType(f, WIRE_LEN, 'ModelProto.opset_import');
      let domain = '';
      let version = 0;
      for (const o of readFields(bytes, f.start, f.end)) {
        if (o.num === OPSET_DOMAIN && o.type === WIRE_LEN) domain = fieldString(bytes, o);
        else if (o.num === OPSET_VERSION && o.type === WIRE_VARINT) version = o.value;
      }
      if (domain === '' || domain === 'ai.onnx') m.opsetVersion = version;
    }
  }
  if (m.graphs.length === 0) throw new OnnxFormatError(fileName, 'no graph');
  return m;
}

/**
 * Parse an ONNX model. FLOAT initializer values are copied into aligned Float32Arrays;
 * other tensor data are not copied. Throws OnnxFormatError naming `fileName`.
 */
export function readOnnx(bytes: Uint8Array, fileName: string): OnnxModel {
  return withFile(fileName, () => {
    const m = parseModelFields(bytes, fileName);
    const model: OnnxModel = {
      irVersion: m.irVersion,
      opsetVersion: m.opsetVersion,
      inputs: [],
      outputs: [],
      initializers: [],
      nodes: [],
    };
    // A repeated graph field merges like protobuf does: its repeated fields concatenate.
    for (const g of m.graphs) {
      for (const f of readFields(bytes, g.start, g.end)) {
        switch (f.num) {
          case GRAPH_NODE:
            expectType(f, WIRE_LEN, 'GraphProto.node');
            model.nodes.push(parseNode(bytes, f));
            break;
          case GRAPH_INITIALIZER:
            expectType(f, WIRE_LEN, 'GraphProto.initializer');
            model.initializers.push(parseInitializer(bytes, f, fileName));
            break;
          case GRAPH_INPUT:
            expectType(f, WIRE_LEN, 'GraphProto.input');
            model.inputs.push(parseValueInfo(bytes, f));
            break;
          case GRAPH_OUTPUT:
            expectType(f, WIRE_LEN, 'GraphProto.output');
            model.outputs.push(parseValueInfo(bytes, f));
            break;
        }
      }
    }
    return model;
  });
}

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
      const size = ELEMENT_SIZE[t.dataType];
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

function listNames(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function formatDims(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}

/** Four 32-bit lanes of a multiply-xorshift hash over UTF-16 code units (128 bits). */
function digestString(s: string): string {
  let h1 = 0x9e3779b1;
  let h2 = 0x85ebca77;
  let h3 = 0xc2b2ae3d;
  let h4 = 0x27d4eb2f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x85ebca6b);
    h2 = Math.imul(h2 ^ c, 0xc2b2ae35);
    h3 = Math.imul(h3 ^ c, 0x27d4eb2d);
    h4 = Math.imul(h4 ^ c, 0x165667b1);
    h1 ^= h1 >>> 15;
    h2 ^= h2 >>> 13;
    h3 ^= h3 >>> 16;
    h4 ^= h4 >>> 14;
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16) ^ s.length, 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13) ^ h1, 0xc2b2ae35);
  h3 = Math.imul(h3 ^ (h3 >>> 16) ^ h2, 0x27d4eb2d);
  h4 = Math.imul(h4 ^ (h4 >>> 15) ^ h3, 0x165667b1);
  h1 = Math.imul(h1 ^ (h1 >>> 13) ^ h4, 0x85ebca6b);
  return [h1, h2, h3, h4].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
}

function canonicalArchitecture(model: OnnxModel): string {
  const values = (vs: readonly OnnxValueInfo[]) => vs.map((v) => [v.name, v.elemType, v.dims]);
  const initializers = model.initializers
    .map((t) => [t.name, t.dataType, t.dims] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify({
    opset: model.opsetVersion,
    inputs: values(model.inputs),
    outputs: values(model.outputs),
    initializers,
    nodes: model.nodes.map((n) => [n.domain, n.opType, n.inputs, n.outputs, n.attributesDigest]),
  });
}

/**
 * Stable identifier of the computation a model performs, independent of its weight
 * values: checkpoints of one architecture (same export) share it, so one ORT session
 * can serve them all. Covers the default opset, graph inputs/outputs, initializer
 * names/types/dims and every node's op, domain, wiring and attributes.
 */
export function architectureSignature(model: OnnxModel): string {
  return `onnx-arch-v1:${model.nodes.length}n:${model.initializers.length}i:${digestString(canonicalArchitecture(model))}`;
}

export interface NamedOnnxModel {
  fileName: string;
  model: OnnxModel;
}

function describeValueDifference(
  kind: 'input' | 'output',
  a: NamedOnnxModel,
  b: NamedOnnxModel,
  av: readonly OnnxValueInfo[],
  bv: readonly OnnxValueInfo[],
): string | null {
  const aByName = new Map(av.map((v) => [v.name, v]));
  const bByName = new Map(bv.map((v) => [v.name, v]));
  const missing = av.filter((v) => !bByName.has(v.name)).map((v) => v.name);
  const extra = bv.filter((v) => !aByName.has(v.name)).map((v) => v.name);
  if (missing.length || extra.length) {
    const parts = [];
    if (extra.length) parts.push(`extra: ${listNames(extra)}`);
    if (missing.length) parts.push(`missing: ${listNames(missing)}`);
    return `${b.fileName} has ${bv.length} graph ${kind}s, ${a.fileName} has ${av.length} (${parts.join('; ')})`;
  }
  for (const x of bv) {
    const y = aByName.get(x.name)!;
    if (x.elemType !== y.elemType) {
      return `${b.fileName}: ${kind} "${x.name}" is ${onnxDataTypeName(x.elemType)}, ${a.fileName} has ${onnxDataTypeName(y.elemType)}`;
    }
    if (formatDims(x.dims) !== formatDims(y.dims)) {
      return `${b.fileName}: ${kind} "${x.name}" has shape ${formatDims(x.dims)}, ${a.fileName} has ${formatDims(y.dims)}`;
    }
  }
  for (let i = 0; i < bv.length; i++) {
    if (bv[i]!.name !== av[i]!.name) {
      return `${b.fileName}: ${kind} ${i} is "${bv[i]!.name}", ${a.fileName} has "${av[i]!.name}" (same ${kind}s, different order)`;
    }
  }
  return null;
}

function describeNode(n: OnnxNode): string {
  return n.domain ? `${n.domain}.${n.opType}` : n.opType;
}

/**
 * null when both models share an architecture (same signature), else one precise
 * sentence naming the file and what differs, measured against `a`.
 */
export function describeArchitectureDifference(a: NamedOnnxModel, b: NamedOnnxModel): string | null {
  const ma = a.model;
  const mb = b.model;
  if (architectureSignature(ma) === architectureSignature(mb) && canonicalArchitecture(ma) === canonicalArchitecture(mb)) {
    return null;
  }
  if (ma.opsetVersion !== mb.opsetVersion) {
    return `${b.fileName} uses opset ${mb.opsetVersion}, ${a.fileName} uses opset ${ma.opsetVersion}`;
  }
  const inputs = describeValueDifference('input', a, b, ma.inputs, mb.inputs);
  if (inputs) return inputs;
  const outputs = describeValueDifference('output', a, b, ma.outputs, mb.outputs);
  if (outputs) return outputs;

  const aInit = new Map(ma.initializers.map((t) => [t.name, t]));
  const bInit = new Map(mb.initializers.map((t) => [t.name, t]));
  const missing = ma.initializers.filter((t) => !bInit.has(t.name)).map((t) => t.name);
  const extra = mb.initializers.filter((t) => !aInit.has(t.name)).map((t) => t.name);
  if (missing.length || extra.length) {
    const parts = [];
    if (extra.length) parts.push(`extra: ${listNames(extra)}`);
    if (missing.length) parts.push(`missing: ${listNames(missing)}`);
    return `${b.fileName} has ${mb.initializers.length} initializers, ${a.fileName} has ${ma.initializers.length} (${parts.join('; ')})`;
  }
  for (const t of mb.initializers) {
    const u = aInit.get(t.name)!;
    if (t.dataType !== u.dataType) {
      return `${b.fileName}: initializer "${t.name}" is ${onnxDataTypeName(t.dataType)}, ${a.fileName} has ${onnxDataTypeName(u.dataType)}`;
    }
    if (formatDims(t.dims) !== formatDims(u.dims)) {
      return `${b.fileName}: initializer "${t.name}" has shape ${formatDims(t.dims)}, ${a.fileName} has ${formatDims(u.dims)}`;
    }
  }

  const common = Math.min(ma.nodes.length, mb.nodes.length);
  let firstDiff = -1;
  let detail = '';
  for (let i = 0; i < common && firstDiff < 0; i++) {
    const x = mb.nodes[i]!;
    const y = ma.nodes[i]!;
    if (x.opType !== y.opType || x.domain !== y.domain) {
      detail = `node ${i} is ${describeNode(x)}, ${a.fileName} has ${describeNode(y)}`;
    } else if (x.inputs.join('\0') !== y.inputs.join('\0')) {
      detail = `node ${i} (${describeNode(x)}) reads [${x.inputs.join(', ')}], ${a.fileName} reads [${y.inputs.join(', ')}]`;
    } else if (x.outputs.join('\0') !== y.outputs.join('\0')) {
      detail = `node ${i} (${describeNode(x)}) writes [${x.outputs.join(', ')}], ${a.fileName} writes [${y.outputs.join(', ')}]`;
    } else if (x.attributesDigest !== y.attributesDigest) {
      detail = `node ${i} (${describeNode(x)}) has different attributes from ${a.fileName}`;
    } else continue;
    firstDiff = i;
  }
  if (mb.nodes.length !== ma.nodes.length) {
    const where = firstDiff >= 0 ? `first difference: ${detail}` : `the first ${common} match`;
    return `${b.fileName} has ${mb.nodes.length} nodes, ${a.fileName} has ${ma.nodes.length} (${where})`;
  }
  if (firstDiff >= 0) return `${b.fileName}: ${detail}`;
  return `${b.fileName} differs in architecture from ${a.fileName}`;
}
