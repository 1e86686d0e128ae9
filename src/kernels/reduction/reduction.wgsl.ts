/**
 * WGSL for tiled sum reductions into vec4 "lanes" (dot-norms has one lane, kinship
 * moments two). A partial is `lanes` consecutive vec4<f32>; partials[(index)·lanes + l].
 *
 * Each workgroup owns a tile of workgroupSize · perThread consecutive elements;
 * thread l reads tile[k·workgroupSize + l] for k < perThread (coalesced), sums them
 * sequentially in f32, then the workgroup halves its partial sums log2(workgroupSize)
 * times. Every f32 addition so sees at most a few terms of similar magnitude: error
 * grows like log(n), not n.
 *
 * Group index = workgroup_id.x + workgroup_id.y · num_workgroups.x (dispatch1d's 2-D
 * fold). The early return and the barriers depend on workgroup_id and the uniform
 * only, so control flow stays workgroup-uniform as WGSL requires.
 *
 * Both passes take a 16-byte uniform struct named params; a products pass's shader
 * declares its own inputs and `partials` (read_write); the sum pass is generic.
 */
import { WORKGROUP_SIZE } from '../shared.wgsl';

/** Elements each thread reads before the tree reduction. */
export const REDUCTION_PER_THREAD = 4;
/** Elements (or partials, in a sum pass) reduced by one workgroup into one partial. */
export const REDUCTION_TILE = WORKGROUP_SIZE * REDUCTION_PER_THREAD;
/** Both uniform structs are 4 u32. */
export const REDUCTION_UNIFORM_BYTES = 16;
/** Bytes per lane of a partial and of a result: one vec4<f32>. */
export const REDUCTION_LANE_BYTES = 16;

/** The products-pass uniform struct, for shaders built with tiledReductionMainWgsl. */
export const REDUCTION_PRODUCTS_UNIFORMS_WGSL = /* wgsl */ `
struct ReductionUniforms {
  n: u32,          // elements in this binding chunk
  out_index: u32,  // partial index of this chunk's first workgroup
  _pad0: u32,
  _pad1: u32,
}`;

export function checkReductionWorkgroupSize(workgroupSize: number): void {
  // The halving tree needs a power of two.
  if (!Number.isInteger(Math.log2(workgroupSize))) throw new RangeError(`reduction.wgsl.ts: workgroup size ${workgroupSize} is not a power of two`);
}

/**
 * The workgroup accumulator and main() of a pass: each thread sums its elements into
 * s[0..lanes) (`accumulate` runs for every i below `count` and adds to s[l]), then the
 * workgroup tree-reduces s into partials[(out_index + group)·lanes + l].
 */
export function tiledReductionMainWgsl(lanes: number, count: string, accumulate: string, workgroupSize: number = WORKGROUP_SIZE, perThread: number = REDUCTION_PER_THREAD): string {
  checkReductionWorkgroupSize(workgroupSize);
  return /* wgsl */ `
var<workgroup> acc: array<vec4<f32>, ${workgroupSize * lanes}>;

@compute @workgroup_size(${workgroupSize})
fn main(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) num_groups: vec3<u32>,
) {
  let group = wid.x + wid.y * num_groups.x;
  let start = group * ${workgroupSize * perThread}u;
  if (start >= ${count}) {
    return;
  }
  var s: array<vec4<f32>, ${lanes}>;
  for (var k = 0u; k < ${perThread}u; k = k + 1u) {
    let i = start + k * ${workgroupSize}u + lid;
    if (i < ${count}) {
      ${accumulate}
    }
  }
  for (var l = 0u; l < ${lanes}u; l = l + 1u) {
    acc[lid * ${lanes}u + l] = s[l];
  }
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      for (var l = 0u; l < ${lanes}u; l = l + 1u) {
        acc[lid * ${lanes}u + l] = acc[lid * ${lanes}u + l] + acc[(lid + stride) * ${lanes}u + l];
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    for (var l = 0u; l < ${lanes}u; l = l + 1u) {
      partials[(params.out_index + group) * ${lanes}u + l] = acc[l];
    }
  }
}
`;
}

/** Sum pass: count partials of `lanes` vec4 starting at in_offset → ceil(count / tile) partials at out_index. */
export function tiledSumWgsl(lanes: number, workgroupSize: number = WORKGROUP_SIZE, perThread: number = REDUCTION_PER_THREAD): string {
  return /* wgsl */ `
struct ReductionSumUniforms {
  count: u32,
  in_offset: u32,
  out_index: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: ReductionSumUniforms;
${tiledReductionMainWgsl(
  lanes,
  'params.count',
  `for (var l = 0u; l < ${lanes}u; l = l + 1u) {
        s[l] = s[l] + input[(params.in_offset + i) * ${lanes}u + l];
      }`,
  workgroupSize,
  perThread,
)}`;
}
