/**
 * The feeds of a transformer encoder or decoder over token rows: input_ids, attention_mask and
 * token_type_ids (all zeros: one segment). Every task over token rows builds its inputs here, so
 * the evaluator and Gram/Fisher capture feed a graph the same way.
 */
import type { Int64Feeds } from '../ort';
import type { TaskBatch } from './task';

export const TOKEN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

export class ModelInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelInputError';
  }
}

/** Feeds for the named graph inputs; an input that is not one of TOKEN_INPUTS throws naming the file. */
export function tokenInputs(inputNames: readonly string[], batch: TaskBatch, fileName: string): Int64Feeds {
  const dims = [batch.rows, batch.sequenceLength];
  const feeds: Int64Feeds = {};
  for (const name of inputNames) {
    if (name === 'input_ids') feeds[name] = { data: batch.inputIds, dims };
    else if (name === 'attention_mask') feeds[name] = { data: batch.attentionMask, dims };
    else if (name === 'token_type_ids') feeds[name] = { data: new BigInt64Array(batch.rows * batch.sequenceLength), dims };
    else throw new ModelInputError(`${fileName}: graph input "${name}" cannot be fed from a dev set (expected ${TOKEN_INPUTS.join(', ')})`);
  }
  return feeds;
}

/** Rows [start, start + rows) of a dataset as a batch (views, no copy). */
export function datasetBatch(
  dataset: { sequenceLength: number; inputIds: BigInt64Array; attentionMask: BigInt64Array; targetMask?: BigInt64Array; dynamicLength?: boolean; choiceCount?: number },
  start: number,
  rows: number,
): TaskBatch {
  const L = dataset.sequenceLength;
  const batch: TaskBatch = {
    start,
    rows,
    sequenceLength: L,
    inputIds: dataset.inputIds.subarray(start * L, (start + rows) * L),
    attentionMask: dataset.attentionMask.subarray(start * L, (start + rows) * L),
  };
  if (dataset.targetMask) batch.targetMask = dataset.targetMask.subarray(start * L, (start + rows) * L);
  if (dataset.dynamicLength) batch.dynamicLength = true;
  if (dataset.choiceCount !== undefined) batch.choiceCount = dataset.choiceCount;
  return batch;
}

/**
 * A batch of `rows` sequences of `length` tokens cut to its longest sequence (one past the last
 * mask 1 of any of them): what a graph with a dynamic sequence axis is fed. Copies.
 */
export function cutToLongest(
  arrays: { inputIds: BigInt64Array; attentionMask: BigInt64Array; targetMask?: BigInt64Array },
  rows: number,
  length: number,
): { length: number; inputIds: BigInt64Array; attentionMask: BigInt64Array; targetMask?: BigInt64Array } {
  let n = 1;
  for (let r = 0; r < rows; r++) {
    let k = length;
    while (k > n && arrays.attentionMask[r * length + k - 1] === 0n) k--;
    n = Math.max(n, k);
  }
  if (n === length) return { length, ...arrays };
  const cut = (src: BigInt64Array) => {
    const dst = new BigInt64Array(rows * n);
    for (let r = 0; r < rows; r++) dst.set(src.subarray(r * length, r * length + n), r * n);
    return dst;
  };
  const out: { length: number; inputIds: BigInt64Array; attentionMask: BigInt64Array; targetMask?: BigInt64Array } = {
    length: n,
    inputIds: cut(arrays.inputIds),
    attentionMask: cut(arrays.attentionMask),
  };
  if (arrays.targetMask) out.targetMask = cut(arrays.targetMask);
  return out;
}
