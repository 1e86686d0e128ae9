import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'workers/**/*.test.ts', 'tools/**/*.test.ts', 'cli/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    // onnxruntime-web's 27 MB wasm: V8's background TurboFan compile of it competes with the
    // tests on 2 cores and holds each worker ~30 s at exit; Liftoff code scores as fast
    // (see bin/evolver-studio.mjs).
    execArgv: ['--liftoff-only'],
    // Dawn (the `webgpu` package) finds SwiftShader through this ICD file, shipped by Debian's chromium.
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' },
  },
});
