import { describe, expect, it } from 'vitest';
import { getNavigatorGpu, isSoftwareAdapterInfo, requestStudioDevice, STUDIO_RAISED_LIMITS } from './device';
import { getNodeGpu } from './node-gpu';

const gpu = await getNodeGpu();

describe('isSoftwareAdapterInfo', () => {
  it('flags CPU implementations and fallback adapters, not hardware', () => {
    const empty = { vendor: '', architecture: '', device: '', description: '' };
    expect(isSoftwareAdapterInfo({ vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0' })).toBe(true);
    expect(isSoftwareAdapterInfo({ ...empty, description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapterInfo({ ...empty, description: 'Lavapipe' })).toBe(true);
    expect(isSoftwareAdapterInfo({ ...empty, description: 'Microsoft Basic Render Driver' })).toBe(true);
    expect(isSoftwareAdapterInfo({ ...empty, vendor: 'nvidia', architecture: 'ada' })).toBe(false);
    expect(isSoftwareAdapterInfo({ vendor: 'apple', architecture: 'metal-3', device: '', description: '' })).toBe(false);
    expect(isSoftwareAdapterInfo({ vendor: 'nvidia' }, true)).toBe(true);
    expect(isSoftwareAdapterInfo({ vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) Iris(R) Xe Graphics' })).toBe(false);
  });

  it('getNavigatorGpu is null in Node (no navigator.gpu)', () => {
    expect(getNavigatorGpu()).toBeNull();
  });
});

describe.skipIf(!gpu)('requestStudioDevice (webgpu in Node)', () => {
  it('raises the buffer limits to the adapter maximum and reports the adapter', async () => {
    const adapter = (await gpu!.requestAdapter())!;
    const studio = await requestStudioDevice(gpu!);
    try {
      const adapterLimits = adapter.limits as unknown as Record<string, number>;
      const deviceLimits = studio.device.limits as unknown as Record<string, number>;
      for (const name of STUDIO_RAISED_LIMITS) expect(deviceLimits[name]).toBe(adapterLimits[name]);
      expect(studio.device.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 2 ** 20);
      expect(typeof studio.adapterInfo.vendor).toBe('string');
      // This machine's Dawn adapter is SwiftShader; a hardware adapter would report false.
      const text = Object.values(studio.adapterInfo).join(' ');
      expect(studio.isSoftware).toBe(/swiftshader/i.test(text) || studio.isSoftware);
      if (/swiftshader/i.test(text)) expect(studio.isSoftware).toBe(true);
    } finally {
      studio.device.destroy();
    }
  });
});
