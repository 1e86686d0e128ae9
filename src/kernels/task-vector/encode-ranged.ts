/**
 * Encoders for kernels that mix per-element buffers with small whole buffers (a cut
 * table, a histogram): src/gpu/elementwise.ts binds every buffer at the same chunk
 * range, which these kernels cannot use.
 *
 * Per-element ("ranged") buffers are split into chunks that fit one storage binding,
 * exactly as encodeElementwise does (tensors above maxStorageBufferBindingSize exist);
 * packUniforms gets each chunk's first element so index-dependent kernels (tie-break,
 * DARE counters) do not depend on the split. Whole buffers are bound entirely in every
 * chunk. Bind groups are cached in the uniform ring's per-generation map.
 */
import { chunkElements, KernelEncodeError, type EncodeOptions } from '../../gpu/elementwise';
import { dispatch1d, getKernelPipeline, type Dispatch1dOptions, type KernelBinding } from '../../gpu/dispatch';
import { bufferId, getUniformRing } from '../../gpu/uniform-ring';

type StorageKind = 'read-only-storage' | 'storage';

export interface RangedKernelSpec {
  /** Unique per shader variant: part of the bind group cache key. */
  name: string;
  code: string;
  /** Per-element bindings, @binding(0…), each bound at the chunk's range. */
  ranged: readonly StorageKind[];
  /** Whole-buffer bindings after the ranged ones. */
  whole: readonly StorageKind[];
  uniformBytes: number;
  workgroupSize: number;
  /** Elements each thread covers (threads dispatched = ceil(count / elementsPerThread)). */
  elementsPerThread?: number;
}

export function encodeRanged(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  spec: RangedKernelSpec,
  ranged: readonly GPUBuffer[],
  whole: readonly GPUBuffer[],
  elementCount: number,
  packUniforms: (chunkStart: number, chunkCount: number) => ArrayBuffer,
  opts: EncodeOptions = {},
): void {
  if (!Number.isInteger(elementCount) || elementCount < 0) {
    throw new KernelEncodeError(`${spec.name}: element count must be a non-negative integer, got ${elementCount}`);
  }
  if (ranged.length !== spec.ranged.length || whole.length !== spec.whole.length) {
    throw new KernelEncodeError(
      `${spec.name}: expected ${spec.ranged.length} + ${spec.whole.length} buffers, got ${ranged.length} + ${whole.length}`,
    );
  }
  for (const [i, buf] of ranged.entries()) {
    if (buf.size < elementCount * 4) {
      throw new KernelEncodeError(`${spec.name}: buffer ${i} holds ${buf.size} bytes, ${elementCount} floats need ${elementCount * 4}`);
    }
  }
  if (elementCount === 0) return;

  const bindings: KernelBinding[] = [...spec.ranged, ...spec.whole, 'uniform-dynamic'];
  const { pipeline, bindGroupLayout } = getKernelPipeline(device, spec.code, bindings);
  const ring = getUniformRing(device);
  const perChunk = chunkElements(device, opts.maxBindingBytes);
  const perThread = spec.elementsPerThread ?? 1;
  const ids = `${ranged.map(bufferId).join(',')}|${whole.map(bufferId).join(',')}`;

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
          ...ranged.map((buffer, binding) => ({ binding, resource: { buffer, offset: byteOffset, size: byteSize } })),
          ...whole.map((buffer, i) => ({ binding: ranged.length + i, resource: { buffer } })),
          { binding: ranged.length + whole.length, resource: { buffer: slot.buffer, offset: 0, size: spec.uniformBytes } },
        ],
      });
      ring.bindGroups.set(key, bindGroup);
    }
    const dispatchOpts: Dispatch1dOptions = { dynamicOffsets: [slot.offset], label: spec.name };
    if (opts.maxWorkgroupsPerDimension !== undefined) dispatchOpts.maxWorkgroupsPerDimension = opts.maxWorkgroupsPerDimension;
    dispatch1d(device, encoder, pipeline, bindGroup, Math.ceil(count / perThread), spec.workgroupSize, dispatchOpts);
  }
}

/** One workgroup over whole buffers only (bookkeeping kernels such as the select step). */
export function encodeSingle(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  spec: { name: string; code: string; whole: readonly StorageKind[]; uniformBytes: number },
  whole: readonly GPUBuffer[],
  uniforms: ArrayBuffer,
): void {
  const bindings: KernelBinding[] = [...spec.whole, 'uniform-dynamic'];
  const { pipeline, bindGroupLayout } = getKernelPipeline(device, spec.code, bindings);
  const ring = getUniformRing(device);
  const slot = ring.allocate(uniforms);
  const key = `${spec.name}|${whole.map(bufferId).join(',')}`;
  let bindGroup = ring.bindGroups.get(key);
  if (!bindGroup) {
    bindGroup = device.createBindGroup({
      label: spec.name,
      layout: bindGroupLayout,
      entries: [
        ...whole.map((buffer, binding) => ({ binding, resource: { buffer } })),
        { binding: whole.length, resource: { buffer: slot.buffer, offset: 0, size: spec.uniformBytes } },
      ],
    });
    ring.bindGroups.set(key, bindGroup);
  }
  dispatch1d(device, encoder, pipeline, bindGroup, 1, 1, { dynamicOffsets: [slot.offset], label: spec.name });
}
