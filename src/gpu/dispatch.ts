/**
 * Compute pipelines (cached per device and shader text) and 1-D dispatches over
 * arbitrarily many elements.
 *
 * WebGPU caps each grid dimension at maxComputeWorkgroupsPerDimension (65535 by
 * default), i.e. 16.7M elements at 256 threads: smaller than one embedding matrix.
 * dispatch1d folds the workgroups into a (gridX, gridY) grid; shaders recover the
 * element index as gid.x + gid.y · (num_workgroups.x · workgroupSize) and return when
 * it is ≥ n (src/kernels/shared.wgsl.ts, linear_index).
 */

export class GpuDispatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuDispatchError';
  }
}

/** How a kernel binds each @binding(i) of group 0, in order. */
export type KernelBinding = 'read-only-storage' | 'storage' | 'uniform-dynamic';

export interface KernelPipeline {
  pipeline: GPUComputePipeline;
  bindGroupLayout: GPUBindGroupLayout;
}

const explicitCache = new WeakMap<GPUDevice, Map<string, KernelPipeline>>();
const autoCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function layoutEntry(binding: number, kind: KernelBinding): GPUBindGroupLayoutEntry {
  const visibility = GPUShaderStage.COMPUTE;
  switch (kind) {
    case 'read-only-storage':
      return { binding, visibility, buffer: { type: 'read-only-storage' } };
    case 'storage':
      return { binding, visibility, buffer: { type: 'storage' } };
    case 'uniform-dynamic':
      return { binding, visibility, buffer: { type: 'uniform', hasDynamicOffset: true } };
  }
}

/**
 * A pipeline with an explicit bind group layout (needed for dynamic uniform offsets),
 * created once per (device, bindings, entry point, shader text).
 */
export function getKernelPipeline(
  device: GPUDevice,
  code: string,
  bindings: readonly KernelBinding[],
  entryPoint = 'main',
): KernelPipeline {
  let cache = explicitCache.get(device);
  if (!cache) {
    cache = new Map();
    explicitCache.set(device, cache);
  }
  const key = `${bindings.join(',')}|${entryPoint}|${code}`;
  let hit = cache.get(key);
  if (!hit) {
    const bindGroupLayout = device.createBindGroupLayout({ entries: bindings.map((b, i) => layoutEntry(i, b)) });
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }),
      compute: { module: device.createShaderModule({ code }), entryPoint },
    });
    hit = { pipeline, bindGroupLayout };
    cache.set(key, hit);
  }
  return hit;
}

/** A pipeline with layout 'auto', cached per (device, entry point, shader text). */
export function getComputePipeline(device: GPUDevice, code: string, entryPoint = 'main'): GPUComputePipeline {
  let cache = autoCache.get(device);
  if (!cache) {
    cache = new Map();
    autoCache.set(device, cache);
  }
  const key = `${entryPoint}|${code}`;
  let pipeline = cache.get(key);
  if (!pipeline) {
    pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code }), entryPoint },
    });
    cache.set(key, pipeline);
  }
  return pipeline;
}

export interface Grid1d {
  x: number;
  y: number;
}

/**
 * Workgroup grid covering elementCount threads. Uses as few rows as possible and then
 * the narrowest row width, so at most y·workgroupSize − 1 threads idle past the end.
 */
export function grid1d(elementCount: number, workgroupSize: number, maxWorkgroupsPerDimension = 65535): Grid1d {
  if (!Number.isInteger(elementCount) || elementCount < 0) {
    throw new GpuDispatchError(`dispatch.ts: element count must be a non-negative integer, got ${elementCount}`);
  }
  const groups = Math.ceil(elementCount / workgroupSize);
  if (groups <= maxWorkgroupsPerDimension) return { x: groups, y: groups === 0 ? 0 : 1 };
  const y = Math.ceil(groups / maxWorkgroupsPerDimension);
  if (y > maxWorkgroupsPerDimension) {
    throw new GpuDispatchError(`dispatch.ts: ${elementCount} elements need more than ${maxWorkgroupsPerDimension}² workgroups`);
  }
  const x = Math.ceil(groups / y);
  // The shader's u32 index must not wrap for any launched thread.
  if (x * y * workgroupSize > 0x1_0000_0000) {
    throw new GpuDispatchError(`dispatch.ts: ${elementCount} elements overflow a u32 element index`);
  }
  return { x, y };
}

export interface Dispatch1dOptions {
  /** Dynamic offsets for the bind group (uniform ring slots). */
  dynamicOffsets?: readonly number[];
  /** Override of device.limits.maxComputeWorkgroupsPerDimension; tests use tiny values to exercise the 2-D grid. */
  maxWorkgroupsPerDimension?: number;
  label?: string;
}

/** Record one compute pass running pipeline over elementCount elements into encoder. */
export function dispatch1d(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  elementCount: number,
  workgroupSize: number,
  opts: Dispatch1dOptions = {},
): Grid1d {
  const maxPerDim = opts.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension;
  const grid = grid1d(elementCount, workgroupSize, maxPerDim);
  if (grid.x === 0) return grid;
  const pass = encoder.beginComputePass(opts.label ? { label: opts.label } : {});
  pass.setPipeline(pipeline);
  if (opts.dynamicOffsets && opts.dynamicOffsets.length > 0) pass.setBindGroup(0, bindGroup, opts.dynamicOffsets);
  else pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(grid.x, grid.y);
  pass.end();
  return grid;
}
