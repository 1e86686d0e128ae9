/**
 * Linear-operator shader, twin of linear-operator.cpu.ts: one pass per model, one
 * invocation per output element, a plain loop over k (inDim is at most a few thousand
 * here, so no tiling). Bindings: 0 out (read_write, bound at the chunk's range),
 * 1 A [in, in] and 2 W (read, whole buffers), 3 params (uniform, dynamic offset).
 * first = 1 overwrites out without reading it. The layout is baked into the shader.
 */
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';
import type { LinearOperatorLayout } from './linear-operator.cpu';

export const LINEAR_OPERATOR_UNIFORM_BYTES = 32;

export function linearOperatorWgsl(layout: LinearOperatorLayout, workgroupSize: number = WORKGROUP_SIZE): string {
  // e = the output element's index in the stored layout.
  const body =
    layout === 'in-out'
      ? /* wgsl */ `
  let j = e / params.out_dim;
  let o = e % params.out_dim;
  var acc = 0.0;
  for (var k = 0u; k < params.in_dim; k++) {
    acc = acc + a[j * params.in_dim + k] * w[k * params.out_dim + o];
  }`
      : /* wgsl */ `
  let o = e / params.in_dim;
  let j = e % params.in_dim;
  var acc = 0.0;
  for (var k = 0u; k < params.in_dim; k++) {
    acc = acc + w[o * params.in_dim + k] * a[j * params.in_dim + k];
  }`;
  return /* wgsl */ `
struct LinearOperatorUniforms {
  n: u32,
  start: u32,
  in_dim: u32,
  out_dim: u32,
  first: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out_values: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<uniform> params: LinearOperatorUniforms;
${elementwiseMainWgsl({
    workgroupSize,
    body: /* wgsl */ `
  let e = params.start + i;
${body}
  if (params.first != 0u) {
    out_values[i] = acc;
  } else {
    out_values[i] = out_values[i] + acc;
  }`,
  })}`;
}
