/**
 * Shared encoder for elementwise f32 kernels: every storage binding covers the same
 * element range, parameters travel in a uniform-ring slot.
 *
 * Tensors larger than maxStorageBufferBindingSize (1 GiB embedding matrices exist) are
 * split into chunks bound at aligned byte offsets; packUniforms gets each chunk's first
 * element so kernels that depend on the global index (the DE step's RNG counter) stay
 * independent of the split. Bind groups are cached per ring generation by buffer
 * identity and range, so re-encoding over the same buffers creates none.
 */
import { dispatch1d, getKernelPipeline, type Dispatch1dOptions, type KernelBinding } from './dispatch';
import { bufferId, getUniformRing } from './uniform-ring';

export class KernelEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelEncodeError';
  }
}

export interface ElementwiseKernelSpec {
  name: string;
  code: string;
  /** Storage bindings, in @binding order, before the final dynamic uniform binding. */
  storage: readonly ('read-only-storage' | 'storage')[];
  uniformBytes: number;
  workgroupSize: number;
}

export interface EncodeOptions {
  /** Override of device.limits.maxComputeWorkgroupsPerDimension (tests exercise the 2-D grid with tiny values). */
  maxWorkgroupsPerDimension?: number;
  /** Cap on bytes per binding, below device.limits.maxStorageBufferBindingSize (tests exercise chunking). */
  maxBindingBytes?: number;
}

/** Elements per chunk: the largest multiple of the storage offset alignment that fits one binding. */
export function chunkElements(device: GPUDevice, maxBindingBytes?: number): number {
  const align = Math.max(4, device.limits.minStorageBufferOffsetAlignment);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, maxBindingBytes ?? Infinity);
  const bytes = Math.floor(limit / align) * align;
  if (bytes < align) throw new KernelEncodeError(`elementwise.ts: binding limit ${limit} is below the ${align}-byte offset alignment`);
  return bytes / 4;
}

export function encodeElementwise(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  spec: ElementwiseKernelSpec,
  buffers: readonly GPUBuffer[],
  elementCount: number,
  packUniforms: (chunkStart: number, chunkCount: number) => ArrayBuffer,
  opts: EncodeOptions = {},
): void {
  if (!Number.isInteger(elementCount) || elementCount < 0) {
    throw new KernelEncodeError(`${spec.name}: element count must be a non-negative integer, got ${elementCount}`);
  }
  if (buffers.length !== spec.storage.length) {
    throw new KernelEncodeError(`${spec.name}: expected ${spec.storage.length} buffers, got ${buffers.length}`);
  }
  for (const [i, buf] of buffers.entries()) {
    if (buf.size < elementCount * 4) {
      throw new KernelEncodeError(`${spec.name}: buffer ${i} holds ${buf.size} bytes, ${elementCount} floats need ${elementCount * 4}`);
    }
  }
  if (elementCount === 0) return;

  const bindings: KernelBinding[] = [...spec.storage, 'uniform-dynamic'];
  const { pipeline, bindGroupLayout } = getKernelPipeline(device, spec.code, bindings);
  const ring = getUniformRing(device);
  const perChunk = chunkElements(device, opts.maxBindingBytes);
  const ids = buffers.map(bufferId).join(',');

  for (let start = 0; start < elementCount; start += perChunk) {
    const count = Math.min(perChunk, elementCount - start);
    const slot = ring.allocate(packUniforms(start, count));
    const byteOffset = start * 4;
    const byteSize = count * 4;
    const key = `${spec.name}|${ids}|${byteOffset}|${byteSize}`;
    let bindGroup = ring.bindGroups.get(key);
    if (!bindGroup) {
      bindGroup = device.createBindGroup({
        label: spec.name,
        layout: bindGroupLayout,
        entries: [
          ...buffers.map((buffer, binding) => ({ binding, resource: { buffer, offset: byteOffset, size: byteSize } })),
          { binding: buffers.length, resource: { buffer: slot.buffer, offset: 0, size: spec.uniformBytes } },
        ],
      });
      ring.bindGroups.set(key, bindGroup);
    }
    const dispatchOpts: Dispatch1dOptions = { dynamicOffsets: [slot.offset], label: spec.name };
    if (opts.maxWorkgroupsPerDimension !== undefined) dispatchOpts.maxWorkgroupsPerDimension = opts.maxWorkgroupsPerDimension;
    dispatch1d(device, encoder, pipeline, bindGroup, count, spec.workgroupSize, dispatchOpts);
  }
}
