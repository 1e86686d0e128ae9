/**
 * Regression scores as GLUE's STS-B reports them: Pearson's r, Spearman's ρ (Pearson's r of the
 * ranks, tied values sharing their average rank, as scipy.stats.spearmanr does) and the mean
 * squared error. A correlation with a constant side is NaN (0/0). Pure functions, float64.
 */

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`pearson: ${n} predictions for ${y.length} targets`);
  if (n === 0) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** 1-based ranks, ties given their average rank. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Float64Array(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]!] === x[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(averageRanks(x), averageRanks(y));
}

export function meanSquaredError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError(`mse: ${x.length} predictions for ${y.length} targets`);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - y[i]!) ** 2;
  return x.length > 0 ? s / x.length : NaN;
}

/** Pearson, Spearman and MSE of predictions against targets. */
export function regressionMetrics(pred: ArrayLike<number>, target: ArrayLike<number>): Record<string, number> {
  return { pearson: pearson(pred, target), spearman: spearman(pred, target), mse: meanSquaredError(pred, target) };
}
