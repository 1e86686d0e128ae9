/**
 * WGSL pieces and constants shared by every kernel in src/kernels.
 *
 * The 2-D grid contract with src/gpu/dispatch.ts: dispatch1d launches (gridX, gridY)
 * workgroups of WORKGROUP_SIZE threads, and the shader turns them back into one linear
 * element index as gid.x + gid.y · (num_workgroups.x · WORKGROUP_SIZE), returning when
 * it is ≥ n. Tensors of 50M+ elements need more than 65535 workgroups in x.
 * Pure strings: importable from Node, workers and the CLI alike.
 */

/** Threads per workgroup for every elementwise kernel (also the dispatch1d argument). */
export const WORKGROUP_SIZE = 256;

/** u32 literal in WGSL hex form, e.g. 0x7feb352du. */
export function wgslU32(value: number): string {
  return `0x${(value >>> 0).toString(16)}u`;
}

export function linearIndexWgsl(workgroupSize: number = WORKGROUP_SIZE): string {
  return /* wgsl */ `
fn linear_index(gid: vec3<u32>, num_groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * (num_groups.x * ${workgroupSize}u);
}
`;
}

/**
 * linear_index plus the `main` entry point of a one-invocation-per-element kernel: it
 * returns once i reaches countExpr (by convention the uniform struct `params` with field
 * n), then runs body with i in scope. body starts with a newline and carries its own
 * two-space indentation. Bindings stay in each shader: their numbers are the contract
 * with the bind groups in index.ts, documented in each shader's header.
 */
export function elementwiseMainWgsl({
  workgroupSize = WORKGROUP_SIZE,
  countExpr = 'params.n',
  body,
}: {
  workgroupSize?: number;
  countExpr?: string;
  body: string;
}): string {
  return /* wgsl */ `${linearIndexWgsl(workgroupSize)}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) num_groups: vec3<u32>) {
  let i = linear_index(gid, num_groups);
  if (i >= ${countExpr}) {
    return;
  }${body}
}
`;
}
