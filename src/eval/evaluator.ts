/**
 * Scores weight sets on an encoded dataset with a WeightFedSession, batch by batch.
 * Batches are sliced once up front; only the weight handles change between calls.
 */
import { computeScores } from './metrics';
import { type Scores } from '../protocol/results';
import type { EncodedDataset } from './dataset';
import type { Int64Feeds, WeightFedSession, WeightHandle } from './ort';

/** Rows per run: large enough to amortise per-run overhead, small enough for the wasm heap. */
const DEFAULT_BATCH = 128;

interface Batch {
  rows: number;
  inputs: Int64Feeds;
}

export class DatasetEvaluator {
  private readonly batches: Batch[] = [];
  private readonly numClasses: number;

  constructor(
    readonly session: WeightFedSession,
    readonly dataset: EncodedDataset,
    batchSize = DEFAULT_BATCH,
  ) {
    const L = dataset.sequenceLength;
    const names = session.inputNames;
    for (let start = 0; start < dataset.size; start += batchSize) {
      const rows = Math.min(batchSize, dataset.size - start);
      const inputs: Batch['inputs'] = {};
      const ids = dataset.inputIds.subarray(start * L, (start + rows) * L);
      const mask = dataset.attentionMask.subarray(start * L, (start + rows) * L);
      if (names.includes('input_ids')) inputs.input_ids = { data: ids, dims: [rows, L] };
      if (names.includes('attention_mask')) inputs.attention_mask = { data: mask, dims: [rows, L] };
      if (names.includes('token_type_ids')) inputs.token_type_ids = { data: new BigInt64Array(rows * L), dims: [rows, L] };
      this.batches.push({ rows, inputs });
    }
    this.numClasses = dataset.numClasses;
  }

  async logits(weights: readonly WeightHandle[]): Promise<Float32Array> {
    const out = new Float32Array(this.dataset.size * this.numClasses);
    let row = 0;
    for (const batch of this.batches) {
      const logits = await this.session.run(batch.inputs, weights);
      if (logits.length !== batch.rows * this.numClasses) {
        throw new Error(`The model returned ${logits.length} logits for ${batch.rows} rows; expected ${this.numClasses} per row.`);
      }
      out.set(logits, row * this.numClasses);
      row += batch.rows;
    }
    return out;
  }

  async score(weights: readonly WeightHandle[]): Promise<Scores> {
    return computeScores(await this.logits(weights), this.dataset);
  }
}
