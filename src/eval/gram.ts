/**
 * Gram matrices of linear-layer inputs for RegMean: G = Σ xᵀx / n over the real
 * (non-padding) tokens of a dataset, one matrix per layer input, for one model.
 * Each model gets its own mean over its own token count, so every model counts
 * equally whatever its data. Accumulation is float64 (token counts reach 10⁵–10⁶;
 * float32 sums would lose the small entries).
 * The activations come from one ORT run per batch of a copy of the model whose graph
 * also outputs every layer input (formats/onnx-outputs addGraphOutputs), on the WASM
 * path with the weights left as initializers (eval/ort OutputCaptureSession).
 * Token rows and the padding mask: an activation [batch, …, L, in] whose first axis is
 * the batch and second-to-last the sequence maps row (b, …, t) to attention_mask[b, t];
 * any other shape (e.g. [batch, in] after pooling) counts every row. The mask is the one the
 * graph was fed: a decoder's batch cut to its longest row, or a multiple-choice batch of
 * questions × choices, is masked as it ran.
 */
import { addGraphOutputs, type LinearLayer } from '../formats/onnx-outputs';
import { OutputCaptureSession, type CapturedTensor, type Int64Feeds } from './ort';
import type { TaskBatch } from './tasks/task';
import { getTask } from './tasks/registry';
import { datasetBatch } from './tasks/token-inputs';
import type { EncodedDataset } from './dataset';

export class GramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GramError';
  }
}

/** Running Σ xᵀx over rows of width `dim` (upper triangle only until mean()). */
export class GramAccumulator {
  readonly sum: Float64Array;
  /** Rows added so far. */
  count = 0;

  constructor(readonly dim: number) {
    if (!Number.isSafeInteger(dim) || dim <= 0) throw new GramError(`gram: bad input width ${dim}`);
    this.sum = new Float64Array(dim * dim);
  }

  /**
   * Adds the rows of x ([rows, dim] row-major) whose keep flag is non-zero (all rows
   * when keep is omitted). Four rows per sweep of the triangle: a quarter of the
   * loads and stores of `sum`, which dominate the cost.
   */
  add(x: Float32Array, keep?: Uint8Array): void {
    const n = this.dim;
    if (x.length % n !== 0) throw new GramError(`gram: ${x.length} values are not whole rows of width ${n}`);
    const rows = x.length / n;
    if (keep && keep.length !== rows) throw new GramError(`gram: ${keep.length} row flags for ${rows} rows`);
    const kept: number[] = [];
    for (let r = 0; r < rows; r++) if (!keep || keep[r]) kept.push(r * n);
    const G = this.sum;
    let k = 0;
    for (; k + 4 <= kept.length; k += 4) {
      const a = kept[k]!;
      const b = kept[k + 1]!;
      const c = kept[k + 2]!;
      const d = kept[k + 3]!;
      for (let i = 0; i < n; i++) {
        const ai = x[a + i]!;
        const bi = x[b + i]!;
        const ci = x[c + i]!;
        const di = x[d + i]!;
        const gi = i * n;
        for (let j = i; j < n; j++) G[gi + j] += ai * x[a + j]! + bi * x[b + j]! + ci * x[c + j]! + di * x[d + j]!;
      }
    }
    for (; k < kept.length; k++) {
      const a = kept[k]!;
      for (let i = 0; i < n; i++) {
        const ai = x[a + i]!;
        if (ai === 0) continue;
        const gi = i * n;
        for (let j = i; j < n; j++) G[gi + j] += ai * x[a + j]!;
      }
    }
    this.count += kept.length;
  }

  /** Σ xᵀx / count as a full symmetric [dim, dim] matrix. Throws when no row was added. */
  mean(): Float64Array {
    if (this.count === 0) throw new GramError('gram: no tokens were added (every row was padding?)');
    const n = this.dim;
    const out = new Float64Array(n * n);
    const inv = 1 / this.count;
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const v = this.sum[i * n + j]! * inv;
        out[i * n + j] = v;
        out[j * n + i] = v;
      }
    }
    return out;
  }
}

/**
 * Row flags for an activation of shape `dims` from a batch whose mask is `mask`
 * ([batch, L] row-major); null when every row counts.
 */
export function tokenRowMask(dims: readonly number[], mask: BigInt64Array, batch: number, L: number): Uint8Array | null {
  const rank = dims.length;
  if (rank < 3 || dims[0] !== batch || dims[rank - 2] !== L) return null;
  let rows = 1;
  for (let k = 0; k < rank - 1; k++) rows *= dims[k]!;
  const perBatch = rows / batch;
  const keep = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const b = Math.floor(r / perBatch);
    const t = r % L;
    keep[r] = mask[b * L + t] !== 0n ? 1 : 0;
  }
  return keep;
}

export interface GramOptions {
  /** Dataset rows per ORT run (default 64). Activations of every layer input are held at once. */
  batchSize?: number;
  /** Called after each batch with rows done and total rows. */
  onProgress?: (done: number, total: number) => void;
  /** Named in error messages. */
  fileName?: string;
}

/**
 * One model's Gram matrix per linear layer, keyed by weightName. Layers that read the
 * same activation (e.g. attention q, k, v) share ONE Float64Array: treat it as read-only.
 */
export async function computeGramMatrices(
  modelBytes: Uint8Array,
  layers: readonly LinearLayer[],
  dataset: EncodedDataset,
  opts: GramOptions = {},
): Promise<Map<string, Float64Array>> {
  const fileName = opts.fileName ?? 'model.onnx';
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) throw new GramError(`gram: batchSize must be a positive integer, got ${batchSize}`);
  if (layers.length === 0) return new Map();
  const widths = new Map<string, number>();
  for (const layer of layers) {
    const w = widths.get(layer.inputName);
    if (w !== undefined && w !== layer.inDim) {
      throw new GramError(`${fileName}: "${layer.inputName}" feeds layers of input width ${w} and ${layer.inDim}`);
    }
    widths.set(layer.inputName, layer.inDim);
  }
  const names = [...widths.keys()];
  const accumulators = new Map(names.map((n) => [n, new GramAccumulator(widths.get(n)!)]));

  await captureOverDataset(addGraphOutputs(modelBytes, names, fileName), names, dataset, { batchSize, fileName, onProgress: opts.onProgress }, (captured, batch) => {
    for (const name of names) {
      const t = captured.get(name)!;
      const acc = accumulators.get(name)!;
      if (t.dims[t.dims.length - 1] !== acc.dim) {
        throw new GramError(`${fileName}: "${name}" has shape [${t.dims.join(', ')}], expected last axis ${acc.dim}`);
      }
      acc.add(t.data, tokenRowMask(t.dims, batch.mask, batch.maskRows ?? batch.rows, batch.maskLength ?? dataset.sequenceLength) ?? undefined);
    }
  });

  const means = new Map<string, Float64Array>();
  for (const [name, acc] of accumulators) {
    if (acc.count === 0) throw new GramError(`${fileName}: no real tokens reached "${name}" (the dataset is all padding?)`);
    means.set(name, acc.mean());
  }
  return new Map(layers.map((l) => [l.weightName, means.get(l.inputName)!]));
}

export interface CaptureBatch {
  start: number;
  rows: number;
  /** attention_mask of this batch as the graph was fed, [maskRows × maskLength]. */
  mask: BigInt64Array;
  /**
   * Sequences and tokens per sequence of the fed mask, when they are not rows × the dataset's
   * sequence length: a batch cut to its longest row (dynamic sequence axis), or a multiple-choice
   * batch of rows × choices sequences.
   */
  maskRows?: number;
  maskLength?: number;
}

/** The attention mask the graph was fed for a batch: the feed itself, else the batch's own. */
function fedMask(feeds: Int64Feeds, batch: TaskBatch): Pick<CaptureBatch, 'mask' | 'maskRows' | 'maskLength'> {
  const fed = feeds.attention_mask;
  if (fed && fed.dims.length === 2) return { mask: fed.data, maskRows: fed.dims[0]!, maskLength: fed.dims[1]! };
  const ids = feeds.input_ids;
  if (ids && ids.dims.length === 2 && ids.dims[0] === batch.rows && ids.dims[1]! < batch.sequenceLength) {
    // No mask input, but the task cut the batch: cut the batch's mask alike.
    const n = ids.dims[1]!;
    const mask = new BigInt64Array(batch.rows * n);
    for (let r = 0; r < batch.rows; r++) mask.set(batch.attentionMask.subarray(r * batch.sequenceLength, r * batch.sequenceLength + n), r * n);
    return { mask, maskRows: batch.rows, maskLength: n };
  }
  return { mask: batch.attentionMask };
}

/**
 * Runs a graph (weights left as initializers, WASM) over a dataset in batches and hands
 * each batch's named float outputs to `onBatch`. Shared by Gram capture and Fisher. The
 * dataset's task builds the inputs; an input it cannot feed throws naming the file.
 */
export async function captureOverDataset(
  modelBytes: Uint8Array,
  outputNames: readonly string[],
  dataset: EncodedDataset,
  opts: { batchSize: number; fileName: string; onProgress?: (done: number, total: number) => void },
  onBatch: (captured: Map<string, CapturedTensor>, batch: CaptureBatch) => void,
): Promise<void> {
  const { batchSize, fileName } = opts;
  const session = await OutputCaptureSession.create(modelBytes);
  try {
    const task = getTask(dataset.task);
    for (let start = 0; start < dataset.size; start += batchSize) {
      const rows = Math.min(batchSize, dataset.size - start);
      const batch = datasetBatch(dataset, start, rows);
      const feeds = task.buildInputs(session.inputNames, batch, fileName);
      onBatch(await session.run(feeds, outputNames), { start, rows, ...fedMask(feeds, batch) });
      opts.onProgress?.(start + rows, dataset.size);
    }
  } finally {
    await session.release();
  }
}
