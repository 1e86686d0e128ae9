/**
 * Scale-add shader: out = α·out + β·x; α = 0 overwrites without reading out.
 * Twin of scale-add.cpu.ts. Bindings: 0 out (read_write), 1 x (read), 2 params
 * (uniform, dynamic offset). out and x must be different buffers.
 */
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';

export const SCALE_ADD_UNIFORM_BYTES = 16;

export function scaleAddWgsl(workgroupSize: number = WORKGROUP_SIZE): string {
  return /* wgsl */ `
struct ScaleAddUniforms {
  alpha: f32,
  beta: f32,
  n: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out_values: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> params: ScaleAddUniforms;
${elementwiseMainWgsl({
    workgroupSize,
    body: /* wgsl */ `
  let bx = params.beta * x[i];
  if (params.alpha == 0.0) {
    out_values[i] = bx;
  } else {
    out_values[i] = params.alpha * out_values[i] + bx;
  }`,
  })}`;
}
