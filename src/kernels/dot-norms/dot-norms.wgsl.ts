/**
 * Dot-norms shaders: a workgroup tree reduction of (x·y, x·x, y·y) into vec4 partials,
 * then the same tree over partials until one vec4 remains. Twin of dot-norms.cpu.ts.
 *
 * Each workgroup owns a tile of DOT_NORMS_TILE = WORKGROUP_SIZE · DOT_NORMS_PER_THREAD
 * consecutive elements; thread l reads tile[k·WORKGROUP_SIZE + l] for k < PER_THREAD
 * (coalesced), sums them sequentially in f32, then the workgroup halves its 256
 * partial sums 8 times. Every f32 addition so sees at most a few terms of similar
 * magnitude: error grows like log(n), not n. Partials are vec4 (x·y, x·x, y·y, 0) so a
 * sum pass is one vector add per element; the 4th lane only pads to 16 bytes.
 *
 * Group index = workgroup_id.x + workgroup_id.y · num_workgroups.x (dispatch1d's 2-D
 * fold). The early return and the barriers depend on workgroup_id and the uniform
 * only, so control flow stays workgroup-uniform as WGSL requires.
 *
 * Products pass bindings: 0 x, 1 y, [2 base], then partials (read_write, the whole
 * buffer, written at out_index + group) and the params uniform (dynamic offset).
 * Sum pass bindings: 0 input partials (read, whole buffer), 1 output partials, 2 params.
 */
import { WORKGROUP_SIZE } from '../shared.wgsl';

/** Elements each thread reads before the tree reduction. */
export const DOT_NORMS_PER_THREAD = 4;
/** Elements (or partials, in a sum pass) reduced by one workgroup into one vec4. */
export const DOT_NORMS_TILE = WORKGROUP_SIZE * DOT_NORMS_PER_THREAD;
/** Both uniform structs are 4 u32. */
export const DOT_NORMS_UNIFORM_BYTES = 16;
/** Bytes per partial and per result: one vec4<f32>. */
export const DOT_NORMS_PARTIAL_BYTES = 16;

function treeReduceWgsl(workgroupSize: number): string {
  return /* wgsl */ `
  acc[lid] = s;
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      acc[lid] = acc[lid] + acc[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partials[params.out_index + group] = acc[0];
  }`;
}

/**
 * main() of both passes: each workgroup sums its tile into s (`accumulate` runs for every
 * i below the uniform `count`), then tree-reduces s into partials[out_index + group].
 */
function tiledMainWgsl(workgroupSize: number, perThread: number, count: string, accumulate: string): string {
  return /* wgsl */ `@compute @workgroup_size(${workgroupSize})
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
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < ${perThread}u; k = k + 1u) {
    let i = start + k * ${workgroupSize}u + lid;
    if (i < ${count}) {
      ${accumulate}
    }
  }
${treeReduceWgsl(workgroupSize)}
}
`;
}

function checkWorkgroupSize(workgroupSize: number): void {
  // The halving tree needs a power of two.
  if (!Number.isInteger(Math.log2(workgroupSize))) throw new RangeError(`dot-norms.wgsl.ts: workgroup size ${workgroupSize} is not a power of two`);
}

/** First pass over the tensors; withBase reads a third tensor and reduces differences from it. */
export function dotNormsProductsWgsl(withBase: boolean, workgroupSize: number = WORKGROUP_SIZE, perThread: number = DOT_NORMS_PER_THREAD): string {
  checkWorkgroupSize(workgroupSize);
  const partialsBinding = withBase ? 3 : 2;
  return /* wgsl */ `
struct DotNormsUniforms {
  n: u32,          // elements in this binding chunk
  out_index: u32,  // partial index of this chunk's first workgroup
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
${withBase ? '@group(0) @binding(2) var<storage, read> base: array<f32>;' : ''}
@group(0) @binding(${partialsBinding}) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(${partialsBinding + 1}) var<uniform> params: DotNormsUniforms;

var<workgroup> acc: array<vec4<f32>, ${workgroupSize}>;

${tiledMainWgsl(workgroupSize, perThread, 'params.n', `${withBase ? 'let c = base[i];\n      let a = x[i] - c;\n      let b = y[i] - c;' : 'let a = x[i];\n      let b = y[i];'}
      s = s + vec4<f32>(a * b, a * a, b * b, 0.0);`)}`;
}

/** Sum pass: count vec4 partials starting at in_offset → ceil(count / tile) partials at out_index. */
export function dotNormsSumWgsl(workgroupSize: number = WORKGROUP_SIZE, perThread: number = DOT_NORMS_PER_THREAD): string {
  checkWorkgroupSize(workgroupSize);
  return /* wgsl */ `
struct DotNormsSumUniforms {
  count: u32,
  in_offset: u32,
  out_index: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: DotNormsSumUniforms;

var<workgroup> acc: array<vec4<f32>, ${workgroupSize}>;

${tiledMainWgsl(workgroupSize, perThread, 'params.count', 's = s + input[params.in_offset + i];')}`;
}
