/**
 * --device cpu|gpu|auto for the CLI. WebGPU in Node comes from the `webgpu` package
 * (Dawn); "auto" takes it only for a hardware adapter, since a software one (SwiftShader,
 * llvmpipe) emulates the GPU on the CPU and is slower than the CPU path.
 */
import { requestStudioDevice, type StudioDevice } from '../src/gpu/device';
import { getNodeGpu } from '../src/gpu/node-gpu';
import { UsageError } from './args';

export type DeviceChoice = 'cpu' | 'gpu' | 'auto';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['cpu', 'gpu', 'auto'];

export async function openDevice(choice: DeviceChoice): Promise<StudioDevice | null> {
  if (choice === 'cpu') return null;
  const gpu = await getNodeGpu();
  if (!gpu) {
    if (choice === 'gpu') throw new UsageError('--device gpu: no WebGPU adapter found (the `webgpu` package found none; on a machine without a GPU, VK_ICD_FILENAMES may point at a Vulkan driver such as SwiftShader).');
    return null;
  }
  const device = await requestStudioDevice(gpu);
  if (choice === 'auto' && device.isSoftware) {
    device.device.destroy();
    return null;
  }
  return device;
}

export function describeDevice(device: StudioDevice | null): string {
  if (!device) return 'CPU';
  const info = device.adapterInfo;
  return `WebGPU (${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${device.isSoftware ? ', software' : ''})`;
}
