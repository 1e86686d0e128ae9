// What an ONNX file's numbers mean: TensorProto.DataType codes with their names and element
// sizes, and the onnx.proto field numbers the reader and the rewriter walk. Constants only;
// imports nothing. (onnx-outputs.ts keeps the few field numbers it needs beside its code.)

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
export const ONNX_ELEMENT_SIZE: Record<number, number> = {
  1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2,
  17: 1, 18: 1, 19: 1, 20: 1, 21: 0.5, 22: 0.5,
};

export function onnxDataTypeName(dataType: number): string {
  return DATA_TYPE_NAMES[dataType] ?? `type ${dataType}`;
}

// Field numbers from onnx.proto.
export const MODEL_IR_VERSION = 1;
export const MODEL_GRAPH = 7;
export const MODEL_OPSET_IMPORT = 8;
export const OPSET_DOMAIN = 1;
export const OPSET_VERSION = 2;
export const GRAPH_NODE = 1;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
export const NODE_DOMAIN = 7;
export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_FLOAT_DATA = 4;
export const TENSOR_STRING_DATA = 6;
export const TENSOR_NAME = 8;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_EXTERNAL_DATA = 13;
export const TENSOR_DATA_LOCATION = 14;
export const VALUE_INFO_NAME = 1;
export const VALUE_INFO_TYPE = 2;
export const TYPE_TENSOR = 1;
export const TYPE_TENSOR_ELEM_TYPE = 1;
export const TYPE_TENSOR_SHAPE = 2;
export const SHAPE_DIM = 1;
export const DIM_VALUE = 1;
export const DIM_PARAM = 2;
export const DATA_LOCATION_EXTERNAL = 1;
export const ENTRY_KEY = 1;
export const ENTRY_VALUE = 2;
