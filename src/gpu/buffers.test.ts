import { afterAll, describe, expect, it } from 'vitest';
import { CounterRng } from '../kernels/rng/rng.cpu';
import { openTestGpu, seededFloats } from '../kernels/testing';
import { createWeightBuffer, GpuBufferError, gpuTransferCounters, paddedByteSize, readFloats, resetGpuTransferCounters, uploadFloats } from './buffers';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());
const rng = new CounterRng(0xb0ff, 0);

describe('paddedByteSize', () => {
  it('pads to 16 bytes (ORT fromGpuBuffer), at least 16', () => {
    expect([0, 1, 3, 4, 5, 255, 256].map(paddedByteSize)).toEqual([16, 16, 16, 16, 32, 1024, 1024]);
    expect(() => paddedByteSize(-1)).toThrow(GpuBufferError);
  });
});

describe.skipIf(!gpu)('weight buffers (webgpu)', () => {
  it('round-trips floats at offsets and counts the bytes each way', async () => {
    const device = gpu!.device;
    const n = 1001;
    const buf = createWeightBuffer(device, n);
    expect(buf.size).toBe(4016);
    expect(buf.usage).toBe(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    const data = seededFloats(rng, n);
    resetGpuTransferCounters();
    uploadFloats(device, buf, data);
    const patch = seededFloats(rng, 10);
    uploadFloats(device, buf, patch, 500);
    expect(gpuTransferCounters.bytesUploaded).toBe((n + 10) * 4);
    const back = await readFloats(device, buf, n);
    const expected = data.slice();
    expected.set(patch, 500);
    expect(back).toEqual(expected);
    expect(await readFloats(device, buf, 3, 998)).toEqual(expected.subarray(998));
    expect(gpuTransferCounters.bytesReadBack).toBe((n + 3) * 4);
    buf.destroy();
  });

  it('rejects overflowing uploads and reads with a named error', async () => {
    const device = gpu!.device;
    const buf = createWeightBuffer(device, 4);
    expect(() => uploadFloats(device, buf, seededFloats(rng, 5))).toThrow(GpuBufferError);
    await expect(readFloats(device, buf, 2, 3)).rejects.toThrow(GpuBufferError);
    expect(() => createWeightBuffer(device, device.limits.maxBufferSize)).toThrow(GpuBufferError);
    buf.destroy();
  });
});
