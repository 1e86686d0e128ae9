/**
 * SCE's shaders, twins of sce.cpu.ts (whole-buffer bindings, one thread per entry):
 *   shifted sum: acc = (first ? 0 : acc) + (τ − τ₀)   (τ₀ = model 0's task vector)
 *   variance: acc = (first ? 0 : acc) + ((τ − τ₀) − Σ·inv)², then ·inv on the last model
 *   mask:     masked = τ where the variance cut keeps the entry (mode 0), always (1), never (2)
 *   weights:  one thread: w_i = mean square of masked τ_i over Σ of them (1/N below 1e-6)
 *   vote:     num/den += masked·w_i, w_i where masked has the sign of Σ masked (+ when ≥ 0)
 *   finalize: out = base + num / max(den, 1e-6)
 * plus the reductions' products passes: the non-zero variances and each model's Σ masked².
 */
import { REDUCTION_PRODUCTS_UNIFORMS_WGSL, tiledReductionMainWgsl } from '../reduction/reduction.wgsl';
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';
import { CUT_FIELD, CUT_STRIDE } from '../task-vector/magnitude-select.wgsl';
import { SCE_DIVISOR_MIN, SCE_WEIGHT_SUM_EPS } from './sce.cpu';

export const SCE_UNIFORM_BYTES = 32;

const uniforms = /* wgsl */ `
struct SceUniforms {
  n: u32,
  models: u32,
  inv: f32,     // 1 / models
  first: u32,
  last: u32,
  slot: u32,    // the model's index (weights, results)
  mode: u32,    // mask: 0 cut, 1 all, 2 none
  _pad: u32,
}
`;

function kernel(bindings: readonly string[], body: string): string {
  return /* wgsl */ `
${uniforms}
${bindings.map((b, i) => `@group(0) @binding(${i}) var<storage, ${b};`).join('\n')}
@group(0) @binding(${bindings.length}) var<uniform> params: SceUniforms;
${elementwiseMainWgsl({ workgroupSize: WORKGROUP_SIZE, countExpr: 'params.n', body: `\n${body}` })}`;
}

/** Bindings 0 model, 1 model 0, 2 base, 3 acc (rw): Σ of the task vectors shifted by model 0's. */
export function sceShiftedSumWgsl(): string {
  return kernel(
    ['read> model: array<f32>', 'read> model0: array<f32>', 'read> base_values: array<f32>', 'read_write> acc: array<f32>'],
    `  var a = (model[i] - base_values[i]) - (model0[i] - base_values[i]);
  if (params.first == 0u) {
    a = acc[i] + a;
  }
  acc[i] = a;`,
  );
}

export function sceVarianceWgsl(): string {
  return kernel(
    ['read> model: array<f32>', 'read> model0: array<f32>', 'read> base_values: array<f32>', 'read> sum: array<f32>', 'read_write> acc: array<f32>'],
    `  let mean = sum[i] * params.inv;
  let d = ((model[i] - base_values[i]) - (model0[i] - base_values[i])) - mean;
  var a = d * d;
  if (params.first == 0u) {
    a = acc[i] + a;
  }
  if (params.last != 0u) {
    a = a * params.inv;
  }
  acc[i] = a;`,
  );
}

export function sceMaskWgsl(): string {
  return kernel(
    ['read> model: array<f32>', 'read> base_values: array<f32>', 'read> variance: array<f32>', 'read> cuts: array<u32>', 'read_write> masked: array<f32>'],
    `  let t = model[i] - base_values[i];
  var keep = params.mode == 1u;
  if (params.mode == 0u) {
    let bits = bitcast<u32>(variance[i]) & 0x7fffffffu;
    let threshold = cuts[${CUT_FIELD.thresholdBits}u];
    keep = (bits > threshold) || ((bits == threshold) && (i < cuts[${CUT_FIELD.tieEnd}u]));
  }
  masked[i] = select(0.0, t, keep);`,
  );
}

/** One thread; bindings 0 norms (vec4 per model), 1 weights (rw). n = 1 thread; params.slot = the tensor's element count. */
export function sceWeightsWgsl(): string {
  return kernel(
    ['read> norms: array<vec4<f32>>', 'read_write> weights: array<f32>'],
    `  var total = 0.0;
  for (var m = 0u; m < params.models; m++) {
    total = total + norms[m].x / f32(params.slot);
  }
  for (var m = 0u; m < params.models; m++) {
    weights[m] = select(norms[m].x / f32(params.slot) / total, params.inv, abs(total) < ${SCE_WEIGHT_SUM_EPS.toExponential()});
  }`,
  );
}

export function sceVoteWgsl(): string {
  return kernel(
    ['read> sign_sum: array<f32>', 'read> masked: array<f32>', 'read> weights: array<f32>', 'read_write> num: array<f32>', 'read_write> den: array<f32>'],
    `  let t = masked[i];
  let w = weights[params.slot];
  let agree = select((t < 0.0), (t > 0.0), (sign_sum[i] >= 0.0));
  var c = select(0.0, t * w, agree);
  var d = select(0.0, w, agree);
  if (params.first == 0u) {
    c = num[i] + c;
    d = den[i] + d;
  }
  num[i] = c;
  den[i] = d;`,
  );
}

export function sceFinalizeWgsl(): string {
  return kernel(
    ['read_write> out_values: array<f32>', 'read> num: array<f32>', 'read> den: array<f32>', 'read> base_values: array<f32>'],
    `  out_values[i] = base_values[i] + num[i] / max(den[i], ${SCE_DIVISOR_MIN.toExponential()});`,
  );
}

/** Products: bindings 0 variance, 1 partials, 2 params; lane x counts the non-zero variances. */
export function sceNonzeroWgsl(): string {
  return /* wgsl */ `${REDUCTION_PRODUCTS_UNIFORMS_WGSL}

@group(0) @binding(0) var<storage, read> variance: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: ReductionUniforms;
${tiledReductionMainWgsl(1, 'params.n', `s[0] = s[0] + vec4<f32>(select(0.0, 1.0, variance[i] != 0.0), 0.0, 0.0, 0.0);`)}`;
}

/** Products: bindings 0 masked, 1 partials, 2 params; lane x is Σ masked². */
export function sceSquaresWgsl(): string {
  return /* wgsl */ `${REDUCTION_PRODUCTS_UNIFORMS_WGSL}

@group(0) @binding(0) var<storage, read> masked: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: ReductionUniforms;
${tiledReductionMainWgsl(1, 'params.n', `let t = masked[i];
      s[0] = s[0] + vec4<f32>(t * t, 0.0, 0.0, 0.0);`)}`;
}

export { CUT_STRIDE };
