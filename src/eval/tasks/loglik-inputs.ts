/**
 * Feeds for a causal LM whose graph carries the log-likelihood head (formats/onnx-loglik): the
 * token inputs plus the shifted targets and their mask, [rows, L, 1] each. The HF convention:
 * the logits at position t predict token t + 1, so targets[t] = ids[t + 1] and mask[t] =
 * targetMask[t + 1]; the last position predicts nothing.
 */
import { LOGLIK_MASK_INPUT, LOGLIK_TARGETS_INPUT } from '../../formats/onnx-loglik';
import type { Int64Feeds } from '../ort';
import { cutToLongest, tokenInputs } from './token-inputs';

export interface TokenSequences {
  /** Sequences (a multiple-choice batch: questions × choices). */
  rows: number;
  length: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  targetMask: BigInt64Array;
}

/** The sequences cut to the longest one when `dynamic`, as they are otherwise. */
export function maybeCut(seqs: TokenSequences, dynamic: boolean | undefined): TokenSequences {
  if (!dynamic) return seqs;
  const cut = cutToLongest(seqs, seqs.rows, seqs.length);
  return { rows: seqs.rows, length: cut.length, inputIds: cut.inputIds, attentionMask: cut.attentionMask, targetMask: cut.targetMask! };
}

export function loglikInputs(inputNames: readonly string[], seqs: TokenSequences, fileName: string): Int64Feeds {
  const { rows, length: L } = seqs;
  const batch = { start: 0, rows, sequenceLength: L, inputIds: seqs.inputIds, attentionMask: seqs.attentionMask };
  const tokenNames = inputNames.filter((n) => n !== LOGLIK_TARGETS_INPUT && n !== LOGLIK_MASK_INPUT);
  const feeds = tokenInputs(tokenNames, batch, fileName);
  if (inputNames.includes(LOGLIK_TARGETS_INPUT) || inputNames.includes(LOGLIK_MASK_INPUT)) {
    const targets = new BigInt64Array(rows * L);
    const mask = new BigInt64Array(rows * L);
    for (let r = 0; r < rows; r++) {
      const base = r * L;
      for (let t = 0; t + 1 < L; t++) {
        if (seqs.targetMask[base + t + 1] === 0n) continue;
        targets[base + t] = seqs.inputIds[base + t + 1]!;
        mask[base + t] = 1n;
      }
    }
    const dims = [rows, L, 1];
    if (inputNames.includes(LOGLIK_TARGETS_INPUT)) feeds[LOGLIK_TARGETS_INPUT] = { data: targets, dims };
    if (inputNames.includes(LOGLIK_MASK_INPUT)) feeds[LOGLIK_MASK_INPUT] = { data: mask, dims };
  }
  return feeds;
}
