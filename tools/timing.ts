/**
 * Wall-clock timing for the benchmark scripts (bench.ts, bench-eval.ts): one warm-up, then each
 * run's time, and their median.
 */

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall time in ms of each of `runs` runs of fn, after one warm-up run. */
export async function samplesOf(fn: () => unknown, runs: number): Promise<number[]> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}
