/**
 * Shaders of the task-vector mergers (linear, task arithmetic, TIES, DARE), twins of the
 * CPU loops in src/engine/methods. Models are bound one at a time (accumulation passes),
 * so N models never hit maxStorageBuffersPerShaderStage (8 by default).
 *
 * Every pass computes one model's contribution c = w·x̃ per element, where x̃ is
 *   plain: θ                          (linear, no base)
 *   delta: θ − base                   (task arithmetic, TIES at density 1)
 *   trim:  θ − base, zero unless the model's cut keeps |θ − base| (TIES)
 *   dare:  (θ − base)·scale, zero unless random_u32_keyed(key, counter) keeps it (DARE)
 *   band:  θ − base, zero unless the outer cut (slot) keeps it and the outlier cut
 *          (slot + 1) does not (breadcrumbs: neither among the smallest nor the largest)
 * and then either accumulates it (Σ c), or, given the finished Σ c, accumulates the
 * agreeing c and w (TIES vote). A finalize pass applies λ, the normalisation and the base.
 */
import { rngWgsl } from '../rng/rng.wgsl';
import { RNG_UNIT_BITS } from '../rng/rng.cpu';
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';
import { CUT_FIELD, CUT_STRIDE } from './magnitude-select.wgsl';

export type ContributionKind = 'plain' | 'delta' | 'trim' | 'dare' | 'band';
export type FinalizeKind = 'scale' | 'base' | 'consensus';

/** Byte size of ContribUniforms; field order fixed by packContribUniforms (task-vector-passes.ts). */
export const CONTRIB_UNIFORM_BYTES = 48;
export const FINALIZE_UNIFORM_BYTES = 16;

const contribStruct = /* wgsl */ `
struct ContribUniforms {
  weight: f32,
  scale: f32,          // dare: survivor rescale (1/p or 1)
  first: u32,          // 1: overwrite the accumulators instead of adding
  n: u32,
  chunk_start: u32,    // trim: tensor-local index of element 0 of this binding (tie-break)
  slot: u32,           // trim: this model's cut slot; band: its outer cut (outliers at slot + 1)
  key0: u32,           // dare: rng_key(seed, model index)
  key1: u32,
  counter_start: u32,  // dare: global index of element 0 of this binding
  keep_threshold: u32, // dare: keep when (draw >> ${32 - RNG_UNIT_BITS}) < keep_threshold
  _pad0: u32,
  _pad1: u32,
}
`;

/** Bindings of the model (and base, cuts) from @binding(first); returns the WGSL and the next free binding. */
function contributionWgsl(kind: ContributionKind, first: number): { code: string; next: number } {
  let b = first;
  const lines = [`@group(0) @binding(${b++}) var<storage, read> model: array<f32>;`];
  if (kind !== 'plain') lines.push(`@group(0) @binding(${b++}) var<storage, read> base_values: array<f32>;`);
  if (kind === 'trim' || kind === 'band') lines.push(`@group(0) @binding(${b++}) var<storage, read> cuts: array<u32>;`);
  let body: string;
  switch (kind) {
    case 'plain':
      body = 'return params.weight * model[i];';
      break;
    case 'delta':
      body = 'return params.weight * (model[i] - base_values[i]);';
      break;
    case 'trim':
      body = `
  let t = model[i] - base_values[i];
  let bits = bitcast<u32>(t) & 0x7fffffffu;
  let s = params.slot * ${CUT_STRIDE}u;
  let threshold = cuts[s + ${CUT_FIELD.thresholdBits}u];
  let keep = (bits > threshold) || ((bits == threshold) && ((params.chunk_start + i) < cuts[s + ${CUT_FIELD.tieEnd}u]));
  return select(0.0, params.weight * t, keep);`;
      break;
    case 'band':
      body = `
  let t = model[i] - base_values[i];
  let bits = bitcast<u32>(t) & 0x7fffffffu;
  let j = params.chunk_start + i;
  let s = params.slot * ${CUT_STRIDE}u;
  let h = s + ${CUT_STRIDE}u;
  let outer = cuts[s + ${CUT_FIELD.thresholdBits}u];
  let top = cuts[h + ${CUT_FIELD.thresholdBits}u];
  let in_outer = (bits > outer) || ((bits == outer) && (j < cuts[s + ${CUT_FIELD.tieEnd}u]));
  let is_outlier = (bits > top) || ((bits == top) && (j < cuts[h + ${CUT_FIELD.tieEnd}u]));
  return select(0.0, params.weight * t, in_outer && !is_outlier);`;
      break;
    case 'dare':
      body = `
  let draw = random_u32_keyed(vec2<u32>(params.key0, params.key1), params.counter_start + i);
  let keep = (draw >> ${32 - RNG_UNIT_BITS}u) < params.keep_threshold;
  let t = (model[i] - base_values[i]) * params.scale;
  return select(0.0, params.weight * t, keep);`;
      break;
  }
  return {
    code: `${lines.join('\n')}
${kind === 'dare' ? rngWgsl() : ''}
fn contribution(i: u32) -> f32 {
  ${body}
}
`,
    next: b,
  };
}

/**
 * A per-element kernel over c = contribution(i): `head` declares bindings 0…head.length-1
 * (one line each), the contribution's bindings and params follow, `body` uses i and c.
 */
function contributionKernelWgsl(kind: ContributionKind, head: readonly string[], workgroupSize: number, body: string): string {
  const { code, next } = contributionWgsl(kind, head.length);
  return /* wgsl */ `
${contribStruct}
${head.join('\n')}
${code}
@group(0) @binding(${next}) var<uniform> params: ContribUniforms;
${elementwiseMainWgsl({ workgroupSize, body: `\n  let c = contribution(i);\n  ${body}` })}`;
}

/**
 * acc = c (first) or acc + c; with signOnly, sign(c) instead (the 'count' vote of TIES).
 * Bindings: 0 acc (rw), then model [, base] [, cuts], then params.
 */
export function accumulateWgsl(kind: ContributionKind, workgroupSize: number = WORKGROUP_SIZE, signOnly = false): string {
  const v = signOnly ? 'sign(c)' : 'c';
  return contributionKernelWgsl(kind, ['@group(0) @binding(0) var<storage, read_write> acc: array<f32>;'], workgroupSize, `if (params.first != 0u) {
    acc[i] = ${v};
  } else {
    acc[i] = acc[i] + ${v};
  }`);
}

/**
 * TIES vote: with the elected sign from sign_sum (+ when ≥ 0), add c and w where c
 * agrees (non-zero, same sign). Bindings: 0 sign_sum (read), 1 num (rw), 2 den (rw),
 * then model, base [, cuts], then params.
 */
export function voteWgsl(kind: Exclude<ContributionKind, 'plain'>, workgroupSize: number = WORKGROUP_SIZE): string {
  const head = [
    '@group(0) @binding(0) var<storage, read> sign_sum: array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> num: array<f32>;',
    '@group(0) @binding(2) var<storage, read_write> den: array<f32>;',
  ];
  return contributionKernelWgsl(kind, head, workgroupSize, `let agree = select((c < 0.0), (c > 0.0), (sign_sum[i] >= 0.0));
  let add_c = select(0.0, c, agree);
  let add_w = select(0.0, params.weight, agree);
  if (params.first != 0u) {
    num[i] = add_c;
    den[i] = add_w;
  } else {
    num[i] = num[i] + add_c;
    den[i] = den[i] + add_w;
  }`);
}

/**
 * Finalize, in place on out:
 *   scale:     out = s·out                                  bindings: 0 out
 *   base:      out = base + s·out                           bindings: 0 out, 1 base
 *   consensus: out = base + s·(num / (den or 1) | num)     bindings: 0 out, 1 num, 2 den, 3 base
 */
export function finalizeWgsl(kind: FinalizeKind, workgroupSize: number = WORKGROUP_SIZE): string {
  const bindings = {
    scale: [],
    base: ['base_values'],
    consensus: ['num', 'den', 'base_values'],
  }[kind];
  const body = {
    scale: 'out_values[i] = params.scale * out_values[i];',
    base: 'out_values[i] = base_values[i] + params.scale * out_values[i];',
    consensus: `let d = den[i];
  let merged = select(num[i], num[i] / select(d, 1.0, d == 0.0), params.normalize != 0u);
  out_values[i] = base_values[i] + params.scale * merged;`,
  }[kind];
  return /* wgsl */ `
struct FinalizeUniforms {
  scale: f32,
  normalize: u32,
  n: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out_values: array<f32>;
${bindings.map((name, b) => `@group(0) @binding(${b + 1}) var<storage, read> ${name}: array<f32>;`).join('\n')}
@group(0) @binding(${bindings.length + 1}) var<uniform> params: FinalizeUniforms;
${elementwiseMainWgsl({ workgroupSize, body: `\n  ${body}` })}`;
}
