/**
 * Where a weight tensor sits in the network, read from the graph rather than from
 * tensor names (torch.onnx.export renames linear weights to onnx::MatMul_*):
 * - depth: the position of the first node that reads it, over all nodes, in [0, 1].
 *   Exported graphs are topologically sorted, so this follows layer order.
 * - layer: the module it belongs to, for per-layer reports (kinship). torch names
 *   node outputs after the module path ("/layers.0/attn/q/MatMul_output_0"), so the
 *   first reader's output gives the block even when the tensor was renamed.
 * Pure logic.
 */
import type { OnnxModel } from '../formats/onnx-read';

function firstReaders(model: OnnxModel, names: readonly string[]): Map<string, number> {
  const wanted = new Set(names);
  const first = new Map<string, number>();
  model.nodes.forEach((node, index) => {
    for (const input of node.inputs) if (wanted.has(input) && !first.has(input)) first.set(input, index);
  });
  return first;
}

/** Depth in [0, 1] of each named initializer: the position of its first reader among the graph's nodes. */
export function tensorDepths(model: OnnxModel, names: readonly string[]): Map<string, number> {
  const first = firstReaders(model, names);
  const last = Math.max(1, model.nodes.length - 1);
  return new Map(names.map((n) => [n, (first.get(n) ?? 0) / last]));
}

/** A numbered block in a dotted name: "layers.0", "encoder.layer.11", "h.3". */
const NUMBERED_BLOCK = /^(.*?[A-Za-z_][\w]*[._]\d+)(?=[._])/;
/** A module path segment that is a numbered block ("layers.0") or a bare index ("0"). */
const INDEXED_SEGMENT = /(^|[._])\d+$/;

/** The block a tensor belongs to, from its name, else from its first reader's module path. */
export function layerOf(tensorName: string, readerOutput: string | undefined): string {
  const named = NUMBERED_BLOCK.exec(tensorName);
  if (named) return named[1]!;
  if (readerOutput?.startsWith('/')) {
    const segments = readerOutput.split('/').filter((s) => s !== '');
    segments.pop(); // the op's own output name
    const k = segments.findIndex((s) => INDEXED_SEGMENT.test(s));
    if (k >= 0) return segments.slice(0, k + 1).join('.');
    if (segments.length > 0) return segments[0]!;
  }
  // Top-level tensors (embeddings, final norm, head): their first name component.
  return tensorName.split(/[.:/]/)[0] || tensorName;
}

/** Layer name of each named initializer (see layerOf). */
export function tensorLayers(model: OnnxModel, names: readonly string[]): Map<string, string> {
  const first = firstReaders(model, names);
  return new Map(names.map((n) => [n, layerOf(n, first.has(n) ? model.nodes[first.get(n)!]!.outputs[0] : undefined)]));
}
