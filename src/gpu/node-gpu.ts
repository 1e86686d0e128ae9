/**
 * WebGPU in Node for tests and the CLI: Dawn through the `webgpu` package.
 *
 * Imported lazily so browser bundles never see it. Dawn finds SwiftShader through
 * VK_ICD_FILENAMES (vitest.config.ts sets it); with no usable adapter this resolves
 * to null and GPU tests skip instead of failing. Destroy every device you create
 * (afterAll) so the Node process can exit.
 */

let pending: Promise<GPU | null> | undefined;

export function getNodeGpu(): Promise<GPU | null> {
  pending ??= (async () => {
    try {
      const mod: typeof import('webgpu') = await import('webgpu');
      Object.assign(globalThis, mod.globals);
      const gpu = mod.create([]);
      const adapter = await gpu.requestAdapter();
      return adapter ? gpu : null;
    } catch {
      return null;
    }
  })();
  return pending;
}
