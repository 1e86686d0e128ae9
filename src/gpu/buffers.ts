/**
 * Weight buffers on the GPU and the only two ways bytes cross the bus.
 *
 * Sizes are padded to 16 bytes because onnxruntime-web's Tensor.fromGpuBuffer
 * requires it. Every upload and read-back is counted in gpuTransferCounters so the
 * engine (and its tests) can show that evolving offspring reads back 0 weight bytes.
 */

export const gpuTransferCounters = { bytesReadBack: 0, bytesUploaded: 0 };

export function resetGpuTransferCounters(): void {
  gpuTransferCounters.bytesReadBack = 0;
  gpuTransferCounters.bytesUploaded = 0;
}

export class GpuBufferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuBufferError';
  }
}

/** Bytes for floatCount f32 values, rounded up to a multiple of 16 (and at least 16). */
export function paddedByteSize(floatCount: number): number {
  if (!Number.isInteger(floatCount) || floatCount < 0) {
    throw new GpuBufferError(`buffers.ts: float count must be a non-negative integer, got ${floatCount}`);
  }
  return Math.max(16, Math.ceil((floatCount * 4) / 16) * 16);
}

/** STORAGE | COPY_SRC | COPY_DST: bindable by our kernels, feedable to ORT, copyable both ways. */
export function createWeightBuffer(device: GPUDevice, floatCount: number, label?: string): GPUBuffer {
  const size = paddedByteSize(floatCount);
  if (size > device.limits.maxBufferSize) {
    throw new GpuBufferError(
      `buffers.ts: ${floatCount} floats (${size} bytes) exceed this device's maxBufferSize ${device.limits.maxBufferSize}`,
    );
  }
  return device.createBuffer({
    label: label ?? `weights[${floatCount}]`,
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

/** Queue a write of data into buf starting at float index floatOffset. */
export function uploadFloats(device: GPUDevice, buf: GPUBuffer, data: Float32Array, floatOffset = 0): void {
  const byteOffset = floatOffset * 4;
  if (byteOffset + data.byteLength > buf.size) {
    throw new GpuBufferError(
      `buffers.ts: upload of ${data.length} floats at offset ${floatOffset} overflows a ${buf.size}-byte buffer`,
    );
  }
  device.queue.writeBuffer(buf, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  gpuTransferCounters.bytesUploaded += data.byteLength;
}

/** Copy floatCount floats (from float index floatOffset) back to the host through a MAP_READ staging buffer. */
export async function readFloats(device: GPUDevice, buf: GPUBuffer, floatCount: number, floatOffset = 0): Promise<Float32Array> {
  const byteOffset = floatOffset * 4;
  const byteLength = floatCount * 4;
  if (byteOffset + byteLength > buf.size) {
    throw new GpuBufferError(
      `buffers.ts: read of ${floatCount} floats at offset ${floatOffset} overruns a ${buf.size}-byte buffer`,
    );
  }
  if (floatCount === 0) return new Float32Array(0);
  const staging = device.createBuffer({
    label: 'readFloats staging',
    size: byteLength,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'readFloats' });
    encoder.copyBufferToBuffer(buf, byteOffset, staging, 0, byteLength);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const result = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    gpuTransferCounters.bytesReadBack += byteLength;
    return result;
  } finally {
    staging.destroy();
  }
}
