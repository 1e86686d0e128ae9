/**
 * Large synthetic safetensors checkpoints for the streaming-merge test and benchmark: many
 * [rows, cols] tensors of pseudo-random values (one seed per checkpoint, so fine-tunes differ
 * from each other and from their base), written piece by piece through the streamed writer
 * so a file past 2 GiB never sits in memory. Values are drawn as bfloat16 bit patterns
 * (small magnitudes of either sign), so BF16 and F32 files hold the same numbers.
 */
import { SafetensorsStreamWriter, type StreamEntry } from '../src/formats/safetensors-stream-write';
import { fileSink } from '../cli/file-source';

export interface BigCheckpointSpec {
  tensors: number;
  rows: number;
  cols: number;
  dtype: 'BF16' | 'F32';
  seed: number;
}

/** The tensor names and shapes of a spec. */
export function bigEntries(spec: BigCheckpointSpec): StreamEntry[] {
  return Array.from({ length: spec.tensors }, (_, i) => ({ name: `model.layers.${i}.mlp.weight`, dtype: spec.dtype, shape: [spec.rows, spec.cols] }));
}

/** Bytes of the file a spec makes (data only; the header is a few kB). */
export function bigBytes(spec: BigCheckpointSpec): number {
  return spec.tensors * spec.rows * spec.cols * (spec.dtype === 'BF16' ? 2 : 4);
}

/** bfloat16 bits of magnitude in [2^-7, 2^-3), either sign, from a xorshift stream. */
function fillBf16(out: Uint16Array, state: Uint32Array): void {
  let x = state[0]! || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = ((x >>> 16) & 0x8000) | (0x3c00 + (x & 0x1ff));
  }
  state[0] = x;
}

export async function writeBigCheckpoint(file: string, spec: BigCheckpointSpec): Promise<void> {
  const entries = bigEntries(spec);
  const writer = new SafetensorsStreamWriter([{ entries, open: () => fileSink(file) }], { format: 'pt' });
  const state = Uint32Array.of(0x9e3779b9 ^ Math.imul(spec.seed + 1, 0x85ebca6b));
  const rowsPerPiece = Math.max(1, Math.floor((16 << 20) / spec.cols));
  const bits = new Uint16Array(rowsPerPiece * spec.cols);
  for (const e of entries) {
    for (let r = 0; r < spec.rows; r += rowsPerPiece) {
      const n = Math.min(rowsPerPiece, spec.rows - r) * spec.cols;
      const piece = bits.subarray(0, n);
      fillBf16(piece, state);
      if (spec.dtype === 'BF16') {
        await writer.append(e.name, new Uint8Array(piece.buffer, 0, n * 2));
      } else {
        const f = new Uint32Array(n);
        for (let i = 0; i < n; i++) f[i] = piece[i]! << 16;
        await writer.append(e.name, new Uint8Array(f.buffer));
      }
    }
  }
  await writer.finish();
}
