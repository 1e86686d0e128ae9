// ONNX model reader: ModelProto bytes to an OnnxModel (graph inputs and outputs, nodes,
// initializers), plus the cheap sniff the format registry uses on a file's head.
// Parsing walks the protobuf wire format (./onnx-wire) in one pass: only FLOAT
// initializer values are copied (raw_data sits at unaligned offsets); other tensor
// data are skipped. The tensor-header and graph-field readers are exported for the
// rewriter (onnx-rewrite.ts), which must see a model exactly as this reader does.
// Pure logic: Uint8Array in, plain objects out. Imports ./errors, ./onnx-wire, ./onnx-schema.

import { OnnxFormatError, ProtobufWireError } from './errors';
import { WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, fieldString, pushVarints, readFields, type WireField } from './onnx-wire';
import {
  ONNX_ELEMENT_SIZE, ONNX_FLOAT, ONNX_STRING, onnxDataTypeName, MODEL_IR_VERSION, MODEL_GRAPH,
  MODEL_OPSET_IMPORT, OPSET_DOMAIN, OPSET_VERSION, GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT,
  NODE_INPUT, NODE_OUTPUT, NODE_OP_TYPE, NODE_ATTRIBUTE, NODE_DOMAIN, TENSOR_DIMS, TENSOR_DATA_TYPE,
  TENSOR_FLOAT_DATA, TENSOR_STRING_DATA, TENSOR_NAME, TENSOR_RAW_DATA, TENSOR_EXTERNAL_DATA,
  TENSOR_DATA_LOCATION, VALUE_INFO_NAME, VALUE_INFO_TYPE, TYPE_TENSOR, TYPE_TENSOR_ELEM_TYPE,
  TYPE_TENSOR_SHAPE, SHAPE_DIM, DIM_VALUE, DIM_PARAM, DATA_LOCATION_EXTERNAL, ENTRY_KEY, ENTRY_VALUE,
} from './onnx-schema';

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

/** Run `fn`, turning wire errors into OnnxFormatError naming the file. */
export function withFile<T>(fileName: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtobufWireError) throw new OnnxFormatError(fileName, e.message.startsWith('truncated') ? `${e.message}: the file may be cut short (an interrupted download or copy); export or download it again` : e.message);
    throw e;
  }
}

export function expectType(f: WireField, type: number, what: string): void {
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

export function parseValueInfo(bytes: Uint8Array, f: WireField): OnnxValueInfo {
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

/** A TensorProto's name, type, dims and where its data lie, without copying any value. */
export interface TensorHeader {
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

export function parseTensorHeader(bytes: Uint8Array, f: WireField): TensorHeader {
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
  const size = ONNX_ELEMENT_SIZE[t.dataType];
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

export interface ModelFields {
  irVersion: number;
  opsetVersion: number;
  graphs: WireField[];
}

export function parseModelFields(bytes: Uint8Array, fileName: string): ModelFields {
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
