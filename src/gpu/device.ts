/**
 * GPUDevice creation for the studio: the only place (with node-gpu.ts for tests)
 * that touches navigator.gpu.
 *
 * The device is shared with onnxruntime-web (executionProviders: [{ name: 'webgpu',
 * device }]), so it asks for what ORT's own WebGPU EP asks for: the adapter's full
 * compute and buffer limits (defaults cap storage bindings at 128 MiB and buffers at
 * 256 MiB, far below real model tensors) and, when offered, shader-f16, subgroups and
 * timestamp-query. Software adapters (SwiftShader, llvmpipe, lavapipe, WARP) are
 * flagged so the studio can prefer its WASM/CPU path there: they are CPU emulation.
 */

export interface StudioAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface RequestStudioDeviceParams {
  powerPreference?: GPUPowerPreference;
  forceFallbackAdapter?: boolean;
  /** Requested only where the adapter has them. Default: STUDIO_OPTIONAL_FEATURES. */
  optionalFeatures?: readonly GPUFeatureName[];
  label?: string;
}

export interface StudioDevice {
  device: GPUDevice;
  adapterInfo: StudioAdapterInfo;
  /** True for fallback/software adapters: correct but slow (CPU emulation). */
  isSoftware: boolean;
}

export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

/** The features ORT's WebGPU EP enables when present; we ask for the same. */
export const STUDIO_OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Limits raised to the adapter's maximum (the set ORT's EP requests, plus storage buffers per stage). */
export const STUDIO_RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxBindGroups',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxStorageBuffersPerShaderStage',
] as const;

// Names seen in adapter info of CPU implementations. Dawn in Node with SwiftShader
// reports vendor 'google', architecture 'swiftshader', description 'SwiftShader driver 5.0.0'.
const SOFTWARE_PATTERN = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b|\bcpu\b/i;

/** Pure classification, exported for tests and for the UI's diagnostics panel. */
export function isSoftwareAdapterInfo(info: Partial<StudioAdapterInfo>, isFallbackAdapter = false): boolean {
  if (isFallbackAdapter) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  return SOFTWARE_PATTERN.test(text);
}

export function getNavigatorGpu(): GPU | null {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? null;
}

function readAdapterInfo(adapter: GPUAdapter): { info: StudioAdapterInfo; isFallback: boolean } {
  // adapter.info is current WebGPU; isFallbackAdapter moved from the adapter onto info.
  const raw = (adapter as { info?: Partial<GPUAdapterInfo> }).info ?? {};
  const legacyFallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    info: {
      vendor: raw.vendor ?? '',
      architecture: raw.architecture ?? '',
      device: raw.device ?? '',
      description: raw.description ?? '',
    },
    isFallback: raw.isFallbackAdapter === true || legacyFallback,
  };
}

export async function requestStudioDevice(gpu: GPU, opts: RequestStudioDeviceParams = {}): Promise<StudioDevice> {
  const adapterOptions: GPURequestAdapterOptions = {};
  if (opts.powerPreference) adapterOptions.powerPreference = opts.powerPreference;
  if (opts.forceFallbackAdapter) adapterOptions.forceFallbackAdapter = true;
  const adapter = await gpu.requestAdapter(adapterOptions);
  if (!adapter) throw new GpuUnavailableError('device.ts: navigator.gpu.requestAdapter() returned no adapter');

  const requiredLimits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number | undefined>;
  for (const name of STUDIO_RAISED_LIMITS) {
    const value = adapterLimits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const wanted = opts.optionalFeatures ?? STUDIO_OPTIONAL_FEATURES;
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));

  const { info, isFallback } = readAdapterInfo(adapter);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: opts.label ?? 'evolver-studio',
      requiredLimits,
      requiredFeatures,
    });
  } catch (err) {
    throw new GpuUnavailableError(`device.ts: requestDevice failed on ${info.description || info.vendor}: ${String(err)}`);
  }
  return { device, adapterInfo: info, isSoftware: isSoftwareAdapterInfo(info, isFallback) };
}
