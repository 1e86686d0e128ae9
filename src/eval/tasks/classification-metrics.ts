// Classification scores for a dev set: argmax of logits, accuracy, macro-F1, confusion matrix and
// per-domain breakdowns. Pure functions over typed arrays, no imports: the sequence-classification
// task (sequence-classification.ts) scores with them.
//
// Conventions (match scikit-learn's f1_score(average='macro', labels=None, zero_division=0)):
// - macro-F1 averages over the classes that occur in the labels OR the predictions of the rows
//   scored; a class absent from both is left out of the mean (so a domain that holds only spam,
//   predicted perfectly, scores 1, not 0.5).
// - a class that occurs gets F1 = 2·tp / (2·tp + fp + fn), which is 0 when precision or recall has a
//   zero denominator.
// - an empty set of rows scores NaN (undefined), never 0 or 1.
// - argmax ties go to the lowest class index; NaN logits never win (a row of all NaN gives 0).

export type Labels = ArrayLike<number>;

export const ALL_DOMAINS = 'all';

export function argmaxRows(logits: Float32Array, rows: number, classes: number): Int32Array {
  if (!Number.isInteger(rows) || !Number.isInteger(classes) || rows < 0 || classes <= 0) {
    throw new RangeError(`argmaxRows: bad shape [${rows}, ${classes}]`);
  }
  if (logits.length !== rows * classes) {
    throw new RangeError(`argmaxRows: ${logits.length} logits for shape [${rows}, ${classes}]`);
  }
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0; c < classes; c++) {
      const v = logits[base + c];
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

function checkPair(pred: Labels, labels: Labels, what: string): void {
  if (pred.length !== labels.length) {
    throw new RangeError(`${what}: ${pred.length} predictions for ${labels.length} labels`);
  }
}

function checkClass(c: number, numClasses: number, what: string): void {
  if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) {
    throw new RangeError(`${what}: class ${c} is outside 0..${numClasses - 1}`);
  }
}

export function accuracy(pred: Labels, labels: Labels): number {
  checkPair(pred, labels, 'accuracy');
  if (labels.length === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) hits++;
  return hits / labels.length;
}

/** confusion[true][predicted], counts (scikit-learn's orientation). */
export function confusionMatrix(pred: Labels, labels: Labels, numClasses: number): number[][] {
  checkPair(pred, labels, 'confusionMatrix');
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    checkClass(labels[i], numClasses, 'confusionMatrix');
    checkClass(pred[i], numClasses, 'confusionMatrix');
    m[labels[i]][pred[i]]++;
  }
  return m;
}

/** F1 per class; NaN for a class absent from both labels and predictions. */
export function f1PerClass(pred: Labels, labels: Labels, numClasses: number): Float64Array {
  checkPair(pred, labels, 'f1PerClass');
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = pred[i];
    checkClass(y, numClasses, 'f1PerClass');
    checkClass(p, numClasses, 'f1PerClass');
    if (y === p) tp[y]++;
    else {
      fp[p]++;
      fn[y]++;
    }
  }
  const f1 = new Float64Array(numClasses);
  for (let c = 0; c < numClasses; c++) {
    const denom = 2 * tp[c] + fp[c] + fn[c];
    f1[c] = denom === 0 ? NaN : (2 * tp[c]) / denom;
  }
  return f1;
}

export function macroF1(pred: Labels, labels: Labels, numClasses: number): number {
  const f1 = f1PerClass(pred, labels, numClasses);
  let sum = 0;
  let n = 0;
  for (const v of f1) {
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

function pick(values: Labels, indices: number[]): Int32Array {
  const out = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) out[k] = values[indices[k]];
  return out;
}

export interface ClassificationMetrics {
  accuracy: number;
  macroF1: number;
}

export interface DomainMetrics {
  domain: string;
  size: number;
  metrics: ClassificationMetrics;
}

function metricsOf(pred: Labels, labels: Labels, numClasses: number): ClassificationMetrics {
  return { accuracy: accuracy(pred, labels), macroF1: macroF1(pred, labels, numClasses) };
}

/**
 * Pooled 'all' entry first, then one entry per non-empty domain (sorted). Rows whose domain is ''
 * count only towards 'all'.
 */
export function scoreByDomain(pred: Labels, labels: Labels, domains: string[], numClasses: number): DomainMetrics[] {
  checkPair(pred, labels, 'scoreByDomain');
  if (domains.length !== labels.length) {
    throw new RangeError(`scoreByDomain: ${domains.length} domains for ${labels.length} labels`);
  }
  const groups = new Map<string, number[]>();
  for (let i = 0; i < domains.length; i++) {
    const d = domains[i];
    if (d === '') continue;
    let g = groups.get(d);
    if (g === undefined) groups.set(d, (g = []));
    g.push(i);
  }
  const out: DomainMetrics[] = [{ domain: ALL_DOMAINS, size: labels.length, metrics: metricsOf(pred, labels, numClasses) }];
  const names = [...groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const d of names) {
    const idx = groups.get(d)!;
    out.push({ domain: d, size: idx.length, metrics: metricsOf(pick(pred, idx), pick(labels, idx), numClasses) });
  }
  return out;
}
