import { afterAll, describe, expect, it } from 'vitest';
import { openTestGpu } from '../kernels/testing';
import { dispatch1d, getComputePipeline, getKernelPipeline, grid1d, GpuDispatchError } from './dispatch';

const gpu = await openTestGpu();
afterAll(() => gpu?.device.destroy());

describe('grid1d', () => {
  it('covers every element with little waste, within the per-dimension limit', () => {
    for (const [n, wg, max] of [
      [1, 256, 65535], [256, 256, 65535], [257, 256, 65535], [65535 * 256, 256, 65535],
      [65535 * 256 + 1, 256, 65535], [58_700_000, 256, 65535], [250_000_000, 256, 65535],
      [100_003, 256, 20], [100_003, 64, 40], [1_000_000, 1, 1000],
    ] as const) {
      const { x, y } = grid1d(n, wg, max);
      expect(x).toBeLessThanOrEqual(max);
      expect(y).toBeLessThanOrEqual(max);
      expect(x * y * wg).toBeGreaterThanOrEqual(n);
      expect(x * y * wg - n).toBeLessThan(y * wg); // at most one partial workgroup per row idles
    }
    expect(grid1d(0, 256)).toEqual({ x: 0, y: 0 });
    expect(grid1d(58_700_000, 256)).toEqual({ x: 57325, y: 4 });
  });

  it('every linear index < n is produced exactly once by the shader formula', () => {
    for (const [n, wg, max] of [[1000, 8, 12], [4097, 16, 17], [777, 4, 200]] as const) {
      const { x, y } = grid1d(n, wg, max);
      const hits = new Uint8Array(n);
      for (let gy = 0; gy < y; gy++) {
        for (let gx = 0; gx < x * wg; gx++) {
          const i = gx + gy * (x * wg); // linear_index in shared.wgsl.ts
          if (i < n) hits[i]!++;
        }
      }
      expect(hits.every((h) => h === 1)).toBe(true);
    }
  });

  it('rejects what cannot be dispatched', () => {
    expect(() => grid1d(-1, 256)).toThrow(GpuDispatchError);
    expect(() => grid1d(1.5, 256)).toThrow(GpuDispatchError);
    expect(() => grid1d(100_003, 256, 4)).toThrow(GpuDispatchError); // 391 groups > 4²
    expect(() => grid1d(2 ** 32 + 1, 256)).toThrow(GpuDispatchError);
  });
});

describe.skipIf(!gpu)('pipeline cache (webgpu)', () => {
  const code = '@group(0) @binding(0) var<storage, read_write> v: array<f32>;\n@compute @workgroup_size(64) fn main() { v[0] = 1.0; }';
  it('returns the same pipeline for the same shader text and a new one for new text', () => {
    const device = gpu!.device;
    expect(getComputePipeline(device, code)).toBe(getComputePipeline(device, code));
    expect(getComputePipeline(device, code + '\n')).not.toBe(getComputePipeline(device, code));
    const a = getKernelPipeline(device, code, ['storage']);
    expect(getKernelPipeline(device, code, ['storage'])).toBe(a);
  });

  it('dispatch1d records nothing for 0 elements', () => {
    const device = gpu!.device;
    const pipeline = getComputePipeline(device, code);
    const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
    const encoder = device.createCommandEncoder();
    expect(dispatch1d(device, encoder, pipeline, bindGroup, 0, 64)).toEqual({ x: 0, y: 0 });
    device.queue.submit([encoder.finish()]);
    buf.destroy();
  });
});
