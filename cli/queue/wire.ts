/**
 * What crosses the queue, as JSON: model outputs as the bytes of their float32 values (every bit
 * kept), and scores with non-finite numbers spelled out (JSON has no NaN, and a metric of a
 * degenerate split can be one).
 */
import type { Scores } from '../../src/protocol/results';

export function encodeOutputs(outputs: readonly Float32Array[]): string[] {
  return outputs.map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64'));
}

export function decodeOutputs(encoded: readonly string[]): Float32Array[] {
  return encoded.map((text) => {
    const bytes = Buffer.from(text, 'base64');
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return new Float32Array(copy.buffer);
  });
}

const NON_FINITE = '$number';

export function encodeScores(scores: Scores): string {
  return JSON.stringify(scores, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? { [NON_FINITE]: String(value) } : value));
}

export function decodeScores(text: string): Scores {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && NON_FINITE in value && Object.keys(value).length === 1) return Number((value as Record<string, string>)[NON_FINITE]);
    return value;
  }) as Scores;
}
