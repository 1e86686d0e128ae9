/**
 * The spherical merges' CPU twins held to straightforward references that follow mergekit's
 * code line by line on whole vectors (f64), plus small worked examples.
 */
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { karcherMerge, multislerpMerge, nuslerpMerge } from './spherical.cpu';

type V = number[];
const dot = (a: V, b: V) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const nrm = (a: V) => Math.sqrt(dot(a, a));
const add = (a: V, b: V) => a.map((x, i) => x + b[i]!);
const sub = (a: V, b: V) => a.map((x, i) => x - b[i]!);
const mul = (a: V, s: number) => a.map((x) => x * s);

function refNuslerp(w: [number, number], x0: V, x1: V, base: V | null): V {
  const t = Math.abs(w[0] + w[1]) < 1e-6 ? 0.5 : w[1] / (w[0] + w[1]);
  const v0 = base ? sub(x0, base) : x0;
  const v1 = base ? sub(x1, base) : x1;
  const u0 = mul(v0, 1 / Math.max(nrm(v0), 1e-7));
  const u1 = mul(v1, 1 / Math.max(nrm(v1), 1e-7));
  const theta = Math.acos(Math.min(1, Math.max(-1, dot(u0, u1))));
  const s = Math.sin(theta);
  const res = Math.abs(s) < 1e-8 ? add(mul(v0, 1 - t), mul(v1, t)) : mul(add(mul(v0, Math.sin((1 - t) * theta)), mul(v1, Math.sin(t * theta))), 1 / s);
  return base ? add(base, res) : res;
}

function refMultislerp(xs: V[], weight: V, base: V | null, eps = 1e-8): V {
  const ts = base ? xs.map((x) => sub(x, base)) : xs;
  const sw = weight.reduce((a, b) => a + b, 0);
  const w = weight.map((x) => x / sw);
  const norms = ts.map(nrm);
  const units = ts.map((t, i) => mul(t, 1 / (norms[i]! + eps)));
  let mean = units.reduce((acc, u, i) => add(acc, mul(u, w[i]!)), new Array<number>(ts[0]!.length).fill(0));
  mean = mul(mean, 1 / nrm(mean));
  const tangents = units.map((u) => sub(u, mul(mean, dot(u, mean))));
  const tr = tangents.reduce((acc, u, i) => add(acc, mul(u, w[i]!)), new Array<number>(ts[0]!.length).fill(0));
  const tn = nrm(tr) + eps;
  let result = add(mul(mean, Math.cos(tn)), mul(tr, Math.sin(tn) / tn));
  result = mul(result, norms.reduce((s, n, i) => s + n * w[i]!, 0));
  return base ? add(result, base) : result;
}

function refKarcher(xs: V[], maxIter = 10, tol = 1e-5): V {
  const alphas = xs.map(() => 1 / xs.length);
  const norms = xs.map(nrm);
  const units = xs.map((x, i) => (norms[i] === 0 ? mul(x, 0) : mul(x, 1 / norms[i]!)));
  const valid = norms.map((n, i) => (n > tol ? i : -1)).filter((i) => i >= 0);
  const asum = valid.reduce((s, i) => s + alphas[i]!, 0);
  const a = valid.map((i) => alphas[i]! / asum);
  const us = valid.map((i) => units[i]!);
  let u = us.reduce((acc, ui, k) => add(acc, mul(ui, a[k]!)), mul(xs[0]!, 0));
  const nu = nrm(u);
  u = nu < tol ? us[0]! : mul(u, 1 / nu);
  for (let it = 0; it < maxIter; it++) {
    let T = mul(u, 0);
    us.forEach((ui, k) => {
      const d = Math.min(1, Math.max(-1, dot(u, ui)));
      const th = Math.acos(d);
      if (th < tol) return;
      T = add(T, mul(sub(ui, mul(u, d)), a[k]! * (th / Math.sin(th))));
    });
    const nT = nrm(T);
    if (nT < tol) break;
    u = add(mul(u, Math.cos(nT)), mul(T, Math.sin(nT) / nT));
    const un = nrm(u);
    if (un > tol) u = mul(u, 1 / un);
  }
  return mul(u, alphas.reduce((s, al, i) => s + al * norms[i]!, 0));
}

const close = (got: Float32Array, want: V, tol = 2e-5) => {
  const scale = Math.max(...want.map(Math.abs), 1e-30);
  let worst = 0;
  want.forEach((w, i) => (worst = Math.max(worst, Math.abs(got[i]! - w) / scale)));
  expect(worst).toBeLessThan(tol);
};

describe('spherical merges vs references', () => {
  const sizes = [1, 7, 300, 1001];
  it.each(sizes)('nuslerp, n %i, with and without base', (n) => {
    const rng = new CounterRng(n, 9);
    const base = seededFloats(rng, n);
    const [a, b] = [0, 1].map(() => Float32Array.from(seededFloats(rng, n, 0.01, 0.5), (d, j) => base[j]! + d));
    for (const withBase of [false, true]) {
      const out = new Float32Array(n);
      nuslerpMerge([a!, b!], withBase ? base : null, out, { weights: [0.3, 0.9] });
      close(out, refNuslerp([0.3, 0.9], [...a!], [...b!], withBase ? [...base] : null));
    }
  });

  it.each(sizes)('multislerp, n %i, three models', (n) => {
    const rng = new CounterRng(n, 10);
    const base = seededFloats(rng, n);
    const xs = [0, 1, 2].map(() => Float32Array.from(seededFloats(rng, n, 0.01, 0.5), (d, j) => base[j]! + d));
    for (const withBase of [false, true]) {
      const out = new Float32Array(n);
      multislerpMerge(xs, withBase ? base : null, out, { weights: [1, 0.5, 2] });
      close(out, refMultislerp(xs.map((x) => [...x]), [1, 0.5, 2], withBase ? [...base] : null));
    }
  });

  it.each(sizes)('karcher, n %i, four models (one zero)', (n) => {
    const rng = new CounterRng(n, 11);
    const xs = [0, 1, 2].map(() => seededFloats(rng, n));
    xs.push(new Float32Array(n));
    const out = new Float32Array(n);
    karcherMerge(xs, out, { maxIter: 10, tol: 1e-5 });
    close(out, refKarcher(xs.map((x) => [...x])));
  });

  it('worked examples', () => {
    const out = new Float32Array(2);
    // Orthogonal unit vectors at t = 0.5: the arc's midpoint (cos 45°, sin 45°).
    expect(nuslerpMerge([Float32Array.of(1, 0), Float32Array.of(0, 1)], null, out, { weights: [1, 1] })[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(out[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(out[1]).toBeCloseTo(Math.SQRT1_2, 6);
    // Colinear: lerp.
    nuslerpMerge([Float32Array.of(1, 0), Float32Array.of(3, 0)], null, out, { weights: [1, 3] });
    expect([...out]).toEqual([2.5, 0]);
    // Multislerp of e1 and 2·e2, equal weights: the midpoint direction, mean norm 1.5.
    multislerpMerge([Float32Array.of(1, 0), Float32Array.of(0, 2)], null, out, { weights: [1, 1] });
    expect(out[0]).toBeCloseTo(1.5 * Math.SQRT1_2, 5);
    expect(out[1]).toBeCloseTo(1.5 * Math.SQRT1_2, 5);
    // Karcher of e1 and 2·e2: the same (the geodesic midpoint), norm 1.5.
    karcherMerge([Float32Array.of(1, 0), Float32Array.of(0, 2)], out);
    expect(out[0]).toBeCloseTo(1.5 * Math.SQRT1_2, 5);
    expect(out[1]).toBeCloseTo(1.5 * Math.SQRT1_2, 5);
    // One model: itself.
    const one = new Float32Array(2);
    karcherMerge([Float32Array.of(3, -4)], one);
    expect([...one]).toEqual([3, -4]);
  });

  it('multislerp of two antipodal models with equal weights falls back to the weighted sum; three throw', () => {
    const out = new Float32Array(2);
    multislerpMerge([Float32Array.of(1, 2), Float32Array.of(-1, -2)], null, out, { weights: [1, 1] });
    expect([...out]).toEqual([0, 0]);
    expect(() => multislerpMerge([Float32Array.of(1, 0), Float32Array.of(-1, 0), Float32Array.of(0, 0)], null, new Float32Array(2), { weights: [1, 1, 1] })).toThrow(/zero/);
  });
});
