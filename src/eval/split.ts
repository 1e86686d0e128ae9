// Seeded, stratified dev / held-out split of a dev set. The evolver selects on the dev part; the
// held-out part scores the final merge, so it must not leak into selection and must keep the
// balance of its task's strata (e.g. label, or domain×label). Same (size, fraction, seed, strata) →
// same split, everywhere.
//
// Draws come from the shared CounterRng (seed, SPLIT_RNG_STREAM), so a split is reproducible from
// its seed in the studio, the worker and the CLI alike.
import { CounterRng } from '../kernels/rng/rng.cpu';
import type { EncodedDataset } from './dataset';

export interface DevHeldoutSplit {
  /** Row indices, ascending. */
  dev: number[];
  /** Row indices, ascending. */
  heldout: number[];
}

/** CounterRng stream for splits, apart from the engine's streams so equal seeds do not correlate. */
export const SPLIT_RNG_STREAM = 0x5b1175;

function shuffle<T>(rng: CounterRng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

function compareKeys(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * Splits rows 0..size-1 so that round(heldoutFraction × size) rows are held out. With strata
 * (labels, or any per-row key such as domain+label) every stratum is split in the same proportion:
 * each gets floor or ceil of its share, the leftover rows going to the strata with the largest
 * remainders (ties broken by the seed).
 */
export function splitDevHeldout(
  size: number,
  heldoutFraction: number,
  seed: number,
  strata?: Int32Array | string[],
): DevHeldoutSplit {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`splitDevHeldout: bad size ${size}`);
  if (!(heldoutFraction >= 0 && heldoutFraction <= 1)) {
    throw new RangeError(`splitDevHeldout: heldoutFraction must be in [0, 1], got ${heldoutFraction}`);
  }
  if (strata !== undefined && strata.length !== size) {
    throw new RangeError(`splitDevHeldout: ${strata.length} strata for ${size} rows`);
  }
  const rng = new CounterRng(seed, SPLIT_RNG_STREAM);

  const groups = new Map<string | number, number[]>();
  for (let i = 0; i < size; i++) {
    const key = strata === undefined ? 0 : strata[i];
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(i);
  }
  const keys = [...groups.keys()].sort(compareKeys);
  const members = keys.map((k) => shuffle(rng, groups.get(k)!));

  const quotas = members.map((m) => heldoutFraction * m.length);
  const take = quotas.map(Math.floor);
  let extra = Math.round(heldoutFraction * size) - take.reduce((a, b) => a + b, 0);
  const tieBreak = shuffle(rng, keys.map((_, i) => i));
  const order = keys
    .map((_, i) => i)
    .sort((a, b) => quotas[b] - take[b] - (quotas[a] - take[a]) || tieBreak[a] - tieBreak[b]);
  for (const i of order) {
    if (extra <= 0) break;
    if (take[i] < members[i].length) {
      take[i]++;
      extra--;
    }
  }

  const dev: number[] = [];
  const heldout: number[] = [];
  members.forEach((m, i) => {
    for (let k = 0; k < m.length; k++) (k < take[i] ? heldout : dev).push(m[k]);
  });
  dev.sort((a, b) => a - b);
  heldout.sort((a, b) => a - b);
  return { dev, heldout };
}

/**
 * Strata for splitDevHeldout from a per-row key (e.g. the task's label), crossed with
 * the row's domain when the rows carry domains and byDomain is set.
 */
export function keyStrata(keys: Int32Array, ds: Pick<EncodedDataset, 'domains' | 'domainNames'>, byDomain = true): Int32Array | string[] {
  if (!byDomain || ds.domainNames.length === 0) return keys;
  return Array.from(keys, (key, i) => `${ds.domains[i]}\u001f${key}`);
}
