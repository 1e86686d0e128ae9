/**
 * Which tensors a streamed merge cuts into bands of rows, and where the bands lie. Only
 * methods whose math is elementwise (each output element from the inputs' same element,
 * with per-tensor scalars) may be cut: their bands merge to exactly the whole tensor's
 * values. The others read a whole tensor's statistics (TIES' magnitude threshold, DARE's
 * norm rescale, DELLA's ranks, SLERP's and model stock's norms) and take the tensor whole.
 * stream-merge.test.ts checks that each listed method merges bands to the whole's bits.
 */
import { rowLength } from '../formats/safetensors-source';
import type { MergeMethodDef } from './method';

/** Methods whose per-tensor CPU merge is elementwise. */
export const ELEMENTWISE_METHODS: ReadonlySet<string> = new Set(['linear', 'task_arithmetic']);

/**
 * Row bands [start, end) of a tensor whose `streams` float32 copies (inputs and output) pass
 * the budget, for an elementwise method; null: take the tensor whole.
 */
export function chunksAlongRows(method: MergeMethodDef, shape: readonly number[], streams: number, budgetBytes: number): [number, number][] | null {
  if (!ELEMENTWISE_METHODS.has(method.id) || shape.length === 0) return null;
  const rows = shape[0]!;
  const rowBytes = rowLength(shape) * 4 * streams;
  if (rows < 2 || rows * rowBytes <= budgetBytes) return null;
  const per = Math.max(1, Math.floor(budgetBytes / Math.max(1, rowBytes)));
  const bands: [number, number][] = [];
  for (let r = 0; r < rows; r += per) bands.push([r, Math.min(rows, r + per)]);
  return bands;
}
