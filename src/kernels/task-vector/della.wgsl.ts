/**
 * DELLA's shaders, twins of della.cpu.ts. Ranking sorts each group (the entries along axis 1)
 * by (|τ| bits, index) with a bitonic network over the group padded to a power of two P:
 *   keys:    key_mag[g·P + k] = bits(|τ|) of entry k of group g, key_idx = k (pads: 0xffffffff)
 *   step:    one compare-exchange stage (kk, jj) of the network over every group at once
 *   scatter: rank[element(g, key_idx[g·P + p])] = p
 * then the mask pass writes the masked task vector (keep when u·D < LO·D + SPAN·r, exact
 * 64-bit integer arithmetic from 16-bit limbs), the L1 products pass reduces (Σ|τ|, Σ|τ̃|),
 * and the scale pass multiplies τ̃ by the rescale read from the reduction's result.
 * All bindings are whole buffers (the sort's partners are far apart).
 */
import { rngWgsl } from '../rng/rng.wgsl';
import { RNG_UNIT_BITS } from '../rng/rng.cpu';
import { REDUCTION_PRODUCTS_UNIFORMS_WGSL, tiledReductionMainWgsl } from '../reduction/reduction.wgsl';
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';

/** Uniform bytes of every DELLA pass but the reduction. */
export const DELLA_UNIFORM_BYTES = 48;

const uniforms = /* wgsl */ `
struct DellaUniforms {
  total: u32,     // threads: groups·P (keys, step), groups·P (scatter), n (mask, scale)
  pow2: u32,      // P
  length: u32,    // L, the axis' length
  stride: u32,    // distance between the axis' entries
  kk: u32,        // step: the network's block size
  jj: u32,        // step: the compare distance
  key0: u32,      // mask: rng_key(seed, model)
  key1: u32,
  counter_start: u32,
  lo: u32,        // mask: LO and SPAN (2^-24 units)
  span: u32,
  mode: u32,      // mask: 0 draw, 1 keep all, 2 keep none; scale: 1 rescale
}
`;

/** Element index of entry k of group g (g = outer·stride + inner). */
const elementFn = /* wgsl */ `
fn element(g: u32, k: u32) -> u32 {
  let outer = g / params.stride;
  let inner = g - outer * params.stride;
  return (outer * params.length + k) * params.stride + inner;
}
`;

function kernel(bindings: readonly string[], body: string, extra = ''): string {
  return /* wgsl */ `
${uniforms}
${bindings.map((b, i) => `@group(0) @binding(${i}) var<storage, ${b};`).join('\n')}
@group(0) @binding(${bindings.length}) var<uniform> params: DellaUniforms;
${elementFn}
${extra}
${elementwiseMainWgsl({ workgroupSize: WORKGROUP_SIZE, countExpr: 'params.total', body: `\n${body}` })}`;
}

/** Bindings: 0 model, 1 base, 2 key_mag (rw), 3 key_idx (rw). */
export function dellaKeysWgsl(): string {
  return kernel(
    ['read> model: array<f32>', 'read> base_values: array<f32>', 'read_write> key_mag: array<u32>', 'read_write> key_idx: array<u32>'],
    `  let g = i / params.pow2;
  let k = i - g * params.pow2;
  if (k >= params.length) {
    key_mag[i] = 0xffffffffu;
    key_idx[i] = 0xffffffffu;
    return;
  }
  let j = element(g, k);
  key_mag[i] = bitcast<u32>(model[j] - base_values[j]) & 0x7fffffffu;
  key_idx[i] = k;`,
  );
}

/** Bindings: 0 key_mag (rw), 1 key_idx (rw). */
export function dellaStepWgsl(): string {
  return kernel(
    ['read_write> key_mag: array<u32>', 'read_write> key_idx: array<u32>'],
    `  let local = i % params.pow2;
  let partner = local ^ params.jj;
  if (partner <= local) {
    return;
  }
  let q = i - local + partner;
  let am = key_mag[i];
  let ai = key_idx[i];
  let bm = key_mag[q];
  let bi = key_idx[q];
  let a_greater = (am > bm) || ((am == bm) && (ai > bi));
  let ascending = (local & params.kk) == 0u;
  if (a_greater == ascending) {
    key_mag[i] = bm;
    key_idx[i] = bi;
    key_mag[q] = am;
    key_idx[q] = ai;
  }`,
  );
}

/** Bindings: 0 key_idx, 1 rank (rw). */
export function dellaScatterWgsl(): string {
  return kernel(
    ['read> key_idx: array<u32>', 'read_write> rank: array<u32>'],
    `  let g = i / params.pow2;
  let p = i - g * params.pow2;
  let k = key_idx[i];
  if (k < params.length) {
    rank[element(g, k)] = p;
  }`,
  );
}

const wide = /* wgsl */ `
fn mul64(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}
fn add64(x: vec2<u32>, y: vec2<u32>) -> vec2<u32> {
  let lo = x.x + y.x;
  return vec2<u32>(lo, x.y + y.y + select(0u, 1u, lo < x.x));
}
fn less64(x: vec2<u32>, y: vec2<u32>) -> bool {
  return (x.y < y.y) || ((x.y == y.y) && (x.x < y.x));
}
`;

/** Bindings: 0 model, 1 base, 2 rank, 3 masked (rw): masked = keep ? τ : 0. */
export function dellaMaskWgsl(): string {
  return kernel(
    ['read> model: array<f32>', 'read> base_values: array<f32>', 'read> rank: array<u32>', 'read_write> masked: array<f32>'],
    `  let t = model[i] - base_values[i];
  if (params.mode != 0u) {
    masked[i] = select(0.0, t, params.mode == 1u);
    return;
  }
  let u = random_u32_keyed(vec2<u32>(params.key0, params.key1), params.counter_start + i) >> ${32 - RNG_UNIT_BITS}u;
  let d = select(2u, params.length - 1u, params.length > 1u);
  let r = select(1u, rank[i], params.length > 1u);
  let keep = less64(mul64(u, d), add64(mul64(params.lo, d), mul64(params.span, r)));
  masked[i] = select(0.0, t, keep);`,
    `${rngWgsl()}\n${wide}`,
  );
}

/** L1 products: bindings 0 model, 1 base, 2 masked, 3 partials, 4 params; lane (Σ|τ|, Σ|τ̃|, 0, 0). */
export function dellaNormsWgsl(): string {
  return /* wgsl */ `${REDUCTION_PRODUCTS_UNIFORMS_WGSL}

@group(0) @binding(0) var<storage, read> model: array<f32>;
@group(0) @binding(1) var<storage, read> base_values: array<f32>;
@group(0) @binding(2) var<storage, read> masked: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params: ReductionUniforms;
${tiledReductionMainWgsl(1, 'params.n', `let t = model[i] - base_values[i];
      s[0] = s[0] + vec4<f32>(abs(t), abs(masked[i]), 0.0, 0.0);`)}`;
}

/** Bindings: 0 masked (rw), 1 norms (vec4 results), 2 params; masked ·= ‖τ‖₁/‖τ̃‖₁ (1 below eps), slot = jj. */
export function dellaScaleWgsl(eps: number): string {
  return kernel(
    ['read_write> masked: array<f32>', 'read> norms: array<vec4<f32>>'],
    `  let nm = norms[params.jj];
  let ok = (params.mode == 1u) && (nm.x >= ${eps.toExponential()}) && (nm.y >= ${eps.toExponential()});
  let s = select(1.0, nm.x / nm.y, ok);
  masked[i] = masked[i] * s;`,
  );
}
