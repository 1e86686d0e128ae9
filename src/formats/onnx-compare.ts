// Architecture comparison of two ONNX models. One ORT session serves every checkpoint of
// an architecture (weights are fed as graph inputs, onnx-rewrite.ts), which makes "same
// architecture" a hard requirement: architectureSignature checks it, and
// describeArchitectureDifference explains a mismatch to the user in one sentence.
// Pure logic over OnnxModel objects. Imports ./errors, ./onnx-schema, ./onnx-read (types).

import { listNames } from './errors';
import { onnxDataTypeName } from './onnx-schema';
import type { OnnxModel, OnnxNode, OnnxValueInfo } from './onnx-read';

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

/** Names present in one list and not the other, as "extra: …; missing: …" (measured against `a`). */
function nameDifference(aNames: readonly string[], bNames: readonly string[]): string | null {
  const aSet = new Set(aNames);
  const bSet = new Set(bNames);
  const missing = aNames.filter((n) => !bSet.has(n));
  const extra = bNames.filter((n) => !aSet.has(n));
  if (!missing.length && !extra.length) return null;
  const parts = [];
  if (extra.length) parts.push(`extra: ${listNames(extra)}`);
  if (missing.length) parts.push(`missing: ${listNames(missing)}`);
  return parts.join('; ');
}

function describeValueNames(kind: 'input' | 'output', a: NamedOnnxModel, b: NamedOnnxModel, av: readonly OnnxValueInfo[], bv: readonly OnnxValueInfo[]): string | null {
  const names = nameDifference(av.map((v) => v.name), bv.map((v) => v.name));
  return names === null ? null : `${b.fileName} has ${bv.length} graph ${kind}s, ${a.fileName} has ${av.length} (${names})`;
}

/** Types, shapes and order of same-named inputs or outputs (called once their names agree). */
function describeValueShapes(
  kind: 'input' | 'output',
  a: NamedOnnxModel,
  b: NamedOnnxModel,
  av: readonly OnnxValueInfo[],
  bv: readonly OnnxValueInfo[],
): string | null {
  const aByName = new Map(av.map((v) => [v.name, v]));
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
  // The most telling difference first: what the graph takes and gives, how many weight tensors
  // it holds, then their types and shapes, then the opset, then the wiring.
  const inputs = describeValueNames('input', a, b, ma.inputs, mb.inputs);
  if (inputs) return inputs;
  const outputs = describeValueNames('output', a, b, ma.outputs, mb.outputs);
  if (outputs) return outputs;
  const tensors = nameDifference(ma.initializers.map((t) => t.name), mb.initializers.map((t) => t.name));
  if (tensors) return `${b.fileName} has ${mb.initializers.length} initializers, ${a.fileName} has ${ma.initializers.length} (${tensors})`;

  const inputShapes = describeValueShapes('input', a, b, ma.inputs, mb.inputs);
  if (inputShapes) return inputShapes;
  const outputShapes = describeValueShapes('output', a, b, ma.outputs, mb.outputs);
  if (outputShapes) return outputShapes;
  const aInit = new Map(ma.initializers.map((t) => [t.name, t]));
  for (const t of mb.initializers) {
    const u = aInit.get(t.name)!;
    if (t.dataType !== u.dataType) {
      return `${b.fileName}: initializer "${t.name}" is ${onnxDataTypeName(t.dataType)}, ${a.fileName} has ${onnxDataTypeName(u.dataType)}`;
    }
    if (formatDims(t.dims) !== formatDims(u.dims)) {
      return `${b.fileName}: initializer "${t.name}" has shape ${formatDims(t.dims)}, ${a.fileName} has ${formatDims(u.dims)}`;
    }
  }
  if (ma.opsetVersion !== mb.opsetVersion) {
    return `${b.fileName} uses opset ${mb.opsetVersion}, ${a.fileName} uses opset ${ma.opsetVersion}`;
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
