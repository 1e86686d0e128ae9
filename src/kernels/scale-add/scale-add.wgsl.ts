/**
 * Scale-add shader: out = α·out + β·x; α = 0 overwrites without reading out.
 * Twin of scale-add.cpu.ts. Bindings: 0 out (read_write), 1 x (read), 2 params
 * (uniform, dynamic offset). out and x must be different buffers.
 */
import { linearIndexWgsl, WORKGROUP_SIZE } from '../shared.wgsl';

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
${linearIndexWgsl(workgroupSize)}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) num_groups: vec3<u32>) {
  let i = linear_index(gid, num_groups);
  if (i >= params.n) {
    return;
  }
  let bx = params.beta * x[i];
  if (params.alpha == 0.0) {
    out_values[i] = bx;
  } else {
    out_values[i] = params.alpha * out_values[i] + bx;
  }
}
`;
}
