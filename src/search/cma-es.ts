/**
 * (μ/μ_w, λ)-CMA-ES (Hansen's covariance matrix adaptation evolution strategy, as in his
 * tutorial "The CMA Evolution Strategy": weighted recombination of the μ best, cumulative
 * step-size adaptation, rank-one and rank-μ covariance updates, lazy eigendecomposition).
 * No maintained npm implementation fits (seeded, deterministic, ask/tell, bounds), so this
 * is a compact one, checked against the standard test functions in cma-es.test.ts.
 *
 * Ask/tell: ask() samples λ points, the caller scores them however it likes (here: merge
 * and evaluate, asynchronously) and tells their order, best first. Only the ranking is used,
 * so a lexicographic fitness (accuracy, then macro-F1) needs no scalar loss.
 *
 * Box bounds: the strategy runs in an unbounded space and each point is mirrored into
 * [lower, upper] (a periodic reflection), so a mean at a bound (density 1) samples inside.
 * Deterministic: every draw comes from the project's counter-based RNG (Box–Muller on
 * 48-bit uniforms). Pure module: no DOM, no GPU.
 */
import { CounterRng } from '../kernels/rng/rng.cpu';

/** Random stream for CMA-ES samples, apart from the Evolver's and the kernels' streams. */
const CMA_STREAM = 0xc3a5e5;

export interface CmaEsOptions {
  /** Starting mean (the phenotype: inside the bounds when they are given). */
  mean: readonly number[];
  /** Starting step size, in the units of the coordinates. */
  sigma: number;
  seed: number;
  /** λ, the points per generation; default 4 + ⌊3 ln n⌋. */
  populationSize?: number;
  bounds?: { lower: readonly number[]; upper: readonly number[] };
}

export interface CmaSample {
  /** The point in the strategy's unbounded space. */
  genotype: number[];
  /** The point to evaluate: the genotype mirrored into the bounds (the genotype itself without bounds). */
  x: number[];
}

export class CmaEsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CmaEsError';
  }
}

/** Mirrors v into [lo, hi] (period 2·(hi − lo)). */
export function reflectInto(v: number, lo: number, hi: number): number {
  const width = hi - lo;
  if (width <= 0) return lo;
  if (v >= lo && v <= hi) return v;
  const period = 2 * width;
  let y = (v - lo) % period;
  if (y < 0) y += period;
  return lo + (y > width ? period - y : y);
}

/** Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations: C = B·diag(values)·Bᵀ, B's columns the vectors. */
export function symmetricEigen(c: readonly Float64Array[]): { values: Float64Array; vectors: Float64Array[] } {
  const n = c.length;
  const a = c.map((row) => Float64Array.from(row));
  const v = Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(n);
    row[i] = 1;
    return row;
  });
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! * a[p]![q]!;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = cs * akp - sn * akq;
          a[k]![q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = cs * apk - sn * aqk;
          a[q]![k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = cs * vkp - sn * vkq;
          v[k]![q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from(a.map((row, i) => row[i]!)), vectors: v };
}

export class CmaEs {
  readonly n: number;
  readonly lambda: number;
  readonly mu: number;
  private readonly weights: Float64Array;
  private readonly mueff: number;
  private readonly cc: number;
  private readonly cs: number;
  private readonly c1: number;
  private readonly cmu: number;
  private readonly damps: number;
  private readonly chiN: number;
  private readonly sigma0: number;
  private readonly rng: CounterRng;
  private readonly bounds: CmaEsOptions['bounds'] | null;
  private m: Float64Array;
  sigma: number;
  private pc: Float64Array;
  private ps: Float64Array;
  private c: Float64Array[];
  private b: Float64Array[];
  private d: Float64Array;
  private invSqrtC: Float64Array[];
  private evaluations = 0;
  private eigenAt = 0;
  private asked: CmaSample[] | null = null;
  generation = 0;

  constructor(options: CmaEsOptions) {
    const n = options.mean.length;
    if (n < 1) throw new CmaEsError('CMA-ES needs at least one coordinate to search.');
    if (!(options.sigma > 0)) throw new CmaEsError(`CMA-ES needs a step size > 0, got ${options.sigma}.`);
    this.n = n;
    this.lambda = options.populationSize ?? 4 + Math.floor(3 * Math.log(n));
    if (!Number.isInteger(this.lambda) || this.lambda < 2) throw new CmaEsError(`CMA-ES needs a population of at least 2, got ${this.lambda}.`);
    this.mu = Math.floor(this.lambda / 2);
    const raw = Array.from({ length: this.mu }, (_, i) => Math.log(this.mu + 0.5) - Math.log(i + 1));
    const sum = raw.reduce((s, w) => s + w, 0);
    this.weights = Float64Array.from(raw.map((w) => w / sum));
    this.mueff = 1 / this.weights.reduce((s, w) => s + w * w, 0);
    const mueff = this.mueff;
    this.cc = (4 + mueff / n) / (n + 4 + (2 * mueff) / n);
    this.cs = (mueff + 2) / (n + mueff + 5);
    this.c1 = 2 / ((n + 1.3) ** 2 + mueff);
    this.cmu = Math.min(1 - this.c1, (2 * (mueff - 2 + 1 / mueff)) / ((n + 2) ** 2 + mueff));
    this.damps = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + this.cs;
    this.chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
    this.sigma0 = options.sigma;
    this.sigma = options.sigma;
    this.rng = new CounterRng(options.seed >>> 0, CMA_STREAM);
    this.bounds = options.bounds ?? null;
    if (this.bounds && (this.bounds.lower.length !== n || this.bounds.upper.length !== n)) throw new CmaEsError(`CMA-ES bounds need ${n} lower and upper values.`);
    this.m = Float64Array.from(options.mean);
    this.pc = new Float64Array(n);
    this.ps = new Float64Array(n);
    this.c = identity(n);
    this.b = identity(n);
    this.d = new Float64Array(n).fill(1);
    this.invSqrtC = identity(n);
  }

  /** The mean as a point to evaluate (mirrored into the bounds). */
  get mean(): number[] {
    return this.phenotype(this.m);
  }

  /** Largest over smallest eigenvalue of C (the condition number of the search distribution). */
  get condition(): number {
    const max = Math.max(...this.d);
    const min = Math.min(...this.d);
    return (max * max) / (min * min);
  }

  /** Why the strategy has stopped making progress, or null: its steps have shrunk below 1e-12 of the start, or C is degenerate. */
  stopReason(): 'tolx' | 'condition' | null {
    let spread = 0;
    for (let i = 0; i < this.n; i++) spread = Math.max(spread, Math.abs(this.pc[i]!), Math.sqrt(this.c[i]![i]!));
    if (this.sigma * spread < 1e-12 * this.sigma0) return 'tolx';
    if (this.condition > 1e14) return 'condition';
    return null;
  }

  /** λ new points (the same ones again until tell() is called). */
  ask(): CmaSample[] {
    if (this.asked) return this.asked;
    const { n } = this;
    const samples: CmaSample[] = [];
    for (let k = 0; k < this.lambda; k++) {
      const z = new Float64Array(n);
      for (let i = 0; i < n; i++) z[i] = this.gaussian() * this.d[i]!;
      const genotype = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        let y = 0;
        for (let j = 0; j < n; j++) y += this.b[i]![j]! * z[j]!;
        genotype[i] = this.m[i]! + this.sigma * y;
      }
      samples.push({ genotype, x: this.phenotype(genotype) });
    }
    this.asked = samples;
    return samples;
  }

  /** The last ask's points ranked: order[0] is the index of the best. */
  tell(order: readonly number[]): void {
    const asked = this.asked;
    if (!asked) throw new CmaEsError('tell() without ask().');
    if (order.length !== this.lambda || new Set(order).size !== this.lambda || order.some((i) => !(i >= 0 && i < this.lambda))) {
      throw new CmaEsError(`tell() needs a ranking of all ${this.lambda} points asked.`);
    }
    const { n, mu, weights, cs, cc, c1, cmu, mueff } = this;
    this.evaluations += this.lambda;
    const old = this.m;
    const ys = order.slice(0, mu).map((k) => Float64Array.from(asked[k]!.genotype, (g, i) => (g - old[i]!) / this.sigma));
    const yw = new Float64Array(n);
    for (let r = 0; r < mu; r++) for (let i = 0; i < n; i++) yw[i]! += weights[r]! * ys[r]![i]!;
    this.m = Float64Array.from(old, (v, i) => v + this.sigma * yw[i]!);

    const csFactor = Math.sqrt(cs * (2 - cs) * mueff);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.invSqrtC[i]![j]! * yw[j]!;
      this.ps[i] = (1 - cs) * this.ps[i]! + csFactor * s;
    }
    const psNorm = Math.hypot(...this.ps);
    const generations = this.evaluations / this.lambda;
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * generations)) / this.chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccFactor = hsig * Math.sqrt(cc * (2 - cc) * mueff);
    for (let i = 0; i < n; i++) this.pc[i] = (1 - cc) * this.pc[i]! + ccFactor * yw[i]!;

    const keep = 1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let r = 0; r < mu; r++) rankMu += weights[r]! * ys[r]![i]! * ys[r]![j]!;
        const value = keep * this.c[i]![j]! + c1 * this.pc[i]! * this.pc[j]! + cmu * rankMu;
        this.c[i]![j] = value;
        this.c[j]![i] = value;
      }
    }
    this.sigma *= Math.exp((cs / this.damps) * (psNorm / this.chiN - 1));
    // Decompose C every 1/(10·n·(c1 + cμ)) generations: O(n²) per point instead of O(n³).
    if (this.evaluations - this.eigenAt > this.lambda / (c1 + cmu) / n / 10) this.decompose();
    this.asked = null;
    this.generation++;
  }

  private decompose(): void {
    this.eigenAt = this.evaluations;
    const { values, vectors } = symmetricEigen(this.c);
    const n = this.n;
    this.b = vectors;
    this.d = Float64Array.from(values, (v) => Math.sqrt(Math.max(v, 1e-300)));
    this.invSqrtC = Array.from({ length: n }, (_, i) => {
      const row = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += (vectors[i]![k]! * vectors[j]![k]!) / this.d[k]!;
        row[j] = s;
      }
      return row;
    });
  }

  private phenotype(genotype: ArrayLike<number>): number[] {
    const out = Array.from(genotype);
    if (!this.bounds) return out;
    return out.map((v, i) => reflectInto(v, this.bounds!.lower[i]!, this.bounds!.upper[i]!));
  }

  /** Standard normal by Box–Muller on two 48-bit uniforms (one value per call: simple and reproducible). */
  private gaussian(): number {
    const unit48 = () => this.rng.nextUnit() + this.rng.nextUnit() * 2 ** -24;
    const u1 = 1 - unit48();
    const u2 = unit48();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

function identity(n: number): Float64Array[] {
  return Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(n);
    row[i] = 1;
    return row;
  });
}

export interface MinimizeOptions extends CmaEsOptions {
  maxEvaluations: number;
  /** Stop once f reaches this value. */
  target?: number;
}

export interface MinimizeResult {
  x: number[];
  f: number;
  evaluations: number;
  generations: number;
  stop: 'target' | 'evaluations' | 'tolx' | 'condition';
}

/** Minimises a plain function (the test functions; the recipe search drives ask/tell itself). */
export function minimize(f: (x: readonly number[]) => number, options: MinimizeOptions): MinimizeResult {
  const es = new CmaEs(options);
  let best = { x: es.mean, f: f(es.mean) };
  let evaluations = 1;
  const done = (stop: MinimizeResult['stop']): MinimizeResult => ({ ...best, evaluations, generations: es.generation, stop });
  if (options.target !== undefined && best.f <= options.target) return done('target');
  for (;;) {
    if (evaluations + es.lambda > options.maxEvaluations) return done('evaluations');
    const samples = es.ask();
    const values = samples.map((s) => f(s.x));
    evaluations += samples.length;
    values.forEach((v, i) => {
      if (v < best.f) best = { x: samples[i]!.x, f: v };
    });
    es.tell(values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b));
    if (options.target !== undefined && best.f <= options.target) return done('target');
    const stuck = es.stopReason();
    if (stuck) return done(stuck);
  }
}
