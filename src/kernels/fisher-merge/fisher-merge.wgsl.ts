/**
 * Fisher-merge shaders, twin of fisher-merge.cpu.ts. Two kernels so that one pass binds
 * one model and its Fisher only (8 models × 2 tensors would exceed the 8 storage buffers
 * a stage may bind by default):
 * - accumulate: bindings 0 num, 1 den, 2 sum (read_write), 3 θ_m, 4 F_m (read), 5 params.
 *   first = 1 overwrites the accumulators without reading them (scratch may be stale).
 * - finalize: bindings 0 out (read_write), 1 num, 2 den, 3 sum (read), 4 params:
 *   out = num / den where den > 0, else sum / modelCount.
 */
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';

export const FISHER_MERGE_UNIFORM_BYTES = 16;

export function fisherAccumulateWgsl(workgroupSize: number = WORKGROUP_SIZE): string {
  return /* wgsl */ `
struct FisherAccumulateUniforms {
  n: u32,
  first: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> num: array<f32>;
@group(0) @binding(1) var<storage, read_write> den: array<f32>;
@group(0) @binding(2) var<storage, read_write> plain_sum: array<f32>;
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read> fisher: array<f32>;
@group(0) @binding(5) var<uniform> params: FisherAccumulateUniforms;
${elementwiseMainWgsl({
    workgroupSize,
    body: /* wgsl */ `
  let f = fisher[i];
  let t = theta[i];
  if (params.first != 0u) {
    num[i] = f * t;
    den[i] = f;
    plain_sum[i] = t;
  } else {
    num[i] = num[i] + f * t;
    den[i] = den[i] + f;
    plain_sum[i] = plain_sum[i] + t;
  }`,
  })}`;
}

export function fisherFinalizeWgsl(workgroupSize: number = WORKGROUP_SIZE): string {
  return /* wgsl */ `
struct FisherFinalizeUniforms {
  n: u32,
  model_count: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> out_values: array<f32>;
@group(0) @binding(1) var<storage, read> num: array<f32>;
@group(0) @binding(2) var<storage, read> den: array<f32>;
@group(0) @binding(3) var<storage, read> plain_sum: array<f32>;
@group(0) @binding(4) var<uniform> params: FisherFinalizeUniforms;
${elementwiseMainWgsl({
    workgroupSize,
    body: /* wgsl */ `
  let d = den[i];
  if (d > 0.0) {
    out_values[i] = num[i] / d;
  } else {
    out_values[i] = plain_sum[i] / params.model_count;
  }`,
  })}`;
}
