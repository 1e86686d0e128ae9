/**
 * Test-only: a seeded mutation fuzzer. From a valid file it makes variants a user could
 * plausibly drop (truncated, bytes flipped, chunks repeated or cut, lengths overwritten
 * with edge values), and runs a parser on each, classifying the outcome:
 * - ok: parsed;
 * - rejected: threw one of the parser's own error types, with the file name in the message;
 * - crash: threw anything else (TypeError, RangeError, ...) or a message without the name;
 * - hang: took longer than the time limit.
 * Seeds come from CounterRng, so a failure reproduces from its iteration number.
 */
import { CounterRng } from '../kernels/rng/rng.cpu';

const EDGE_U32 = [0, 1, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

export function mutate(input: Uint8Array, rng: CounterRng): Uint8Array {
  let bytes = input.slice();
  const edits = 1 + rng.nextInt(4);
  for (let e = 0; e < edits; e++) {
    const at = bytes.length > 0 ? rng.nextInt(bytes.length) : 0;
    switch (rng.nextInt(7)) {
      case 0: // truncate
        bytes = bytes.slice(0, at);
        break;
      case 1: // flip bits of a few bytes
        for (let k = 0, count = 1 + rng.nextInt(8); k < count && bytes.length > 0; k++) bytes[rng.nextInt(bytes.length)]! ^= 1 << rng.nextInt(8);
        break;
      case 2: {
        // overwrite 4 bytes with an edge value (lengths, offsets, counts)
        const v = EDGE_U32[rng.nextInt(EDGE_U32.length)]!;
        for (let k = 0; k < 4 && at + k < bytes.length; k++) bytes[at + k] = (v >>> (8 * k)) & 0xff;
        break;
      }
      case 3: {
        // repeat a chunk
        const len = Math.min(bytes.length - at, 1 + rng.nextInt(64));
        const out = new Uint8Array(bytes.length + len);
        out.set(bytes.subarray(0, at + len));
        out.set(bytes.subarray(at), at + len);
        bytes = out;
        break;
      }
      case 4: {
        // cut a chunk
        const len = Math.min(bytes.length - at, 1 + rng.nextInt(64));
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + len)]);
        break;
      }
      case 5: {
        // insert random bytes
        const len = 1 + rng.nextInt(16);
        const out = new Uint8Array(bytes.length + len);
        out.set(bytes.subarray(0, at));
        for (let k = 0; k < len; k++) out[at + k] = rng.nextInt(256);
        out.set(bytes.subarray(at), at + len);
        bytes = out;
        break;
      }
      default: // replace one byte with a structural character of the text formats
        if (bytes.length > 0) bytes[at] = '{}[]":,\n\\0'.charCodeAt(rng.nextInt(11));
    }
  }
  return bytes;
}

export interface FuzzReport {
  ok: number;
  rejected: number;
  crashes: { iteration: number; error: string }[];
  hangs: { iteration: number; ms: number }[];
  slowestMs: number;
}

export interface FuzzParams {
  fileName: string;
  seed: Uint8Array;
  iterations: number;
  /** Error names the parser may throw for bad input. */
  expected: readonly string[];
  parse(bytes: Uint8Array, fileName: string): unknown;
  timeLimitMs?: number;
  rngSeed?: number;
}

export function fuzz(params: FuzzParams): FuzzReport {
  const rng = new CounterRng(params.rngSeed ?? 0xf022, 1);
  const report: FuzzReport = { ok: 0, rejected: 0, crashes: [], hangs: [], slowestMs: 0 };
  const limit = params.timeLimitMs ?? 2000;
  for (let iteration = 0; iteration < params.iterations; iteration++) {
    const bytes = mutate(params.seed, rng);
    const started = performance.now();
    try {
      params.parse(bytes, params.fileName);
      report.ok++;
    } catch (err) {
      const e = err as Error;
      if (params.expected.includes(e?.name) && typeof e.message === 'string' && e.message.includes(params.fileName)) report.rejected++;
      else report.crashes.push({ iteration, error: `${e?.name}: ${e?.message}`.slice(0, 300) });
    }
    const ms = performance.now() - started;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (ms > limit) report.hangs.push({ iteration, ms });
  }
  return report;
}
