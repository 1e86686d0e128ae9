/**
 * Test helpers for kernel twins: the backends to loop over, a Node WebGPU device
 * (null where there is no adapter, so GPU cases skip), and seeded non-zero inputs.
 * Imported by *.test.ts only.
 */
import { requestStudioDevice, type StudioDevice } from '../gpu/device';
import { getNodeGpu } from '../gpu/node-gpu';
import { CounterRng } from './rng/rng.cpu';

export type BackendName = 'cpu' | 'webgpu';

/** Opens one device for a test file; destroy it in afterAll so the process can exit. */
export async function openTestGpu(): Promise<StudioDevice | null> {
  const gpu = await getNodeGpu();
  if (!gpu) return null;
  try {
    return await requestStudioDevice(gpu);
  } catch {
    return null;
  }
}

/** The registered backends for describe.each, with availability for skipIf. */
export function testBackends(gpu: StudioDevice | null): { name: BackendName; available: boolean }[] {
  return [
    { name: 'cpu', available: true },
    { name: 'webgpu', available: gpu !== null },
  ];
}

/** n floats uniform in ±[lo, hi) with random sign: never zero, so "unchanged" is visible. */
export function seededFloats(rng: CounterRng, n: number, lo = 0.01, hi = 2): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const magnitude = lo + (hi - lo) * rng.nextUnit();
    out[i] = rng.nextU32() & 1 ? magnitude : -magnitude;
  }
  return out;
}

/** Index of the first element whose bits differ (0 when the lengths do), or -1. */
export function firstBitMismatch(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return 0;
  for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return j;
  return -1;
}

/** Index of the first element where |a − b| > tol·scale_i, or -1. */
export function firstMismatch(a: Float32Array, b: Float32Array, tol: (i: number) => number): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= tol(i))) return i;
  }
  return -1;
}
