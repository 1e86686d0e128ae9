/**
 * Test-only: the weight buffers one GPU test run creates, so the test can destroy them
 * all in one call once it has read its outputs back (Dawn keeps them alive otherwise).
 * Imported by *.test.ts only.
 */
import { createWeightBuffer, uploadFloats } from '../gpu/buffers';

export interface TestBufferPool {
  /** A weight buffer of n floats, filled with data when given. */
  buffer(n: number, data?: Float32Array): GPUBuffer;
  destroyAll(): void;
}

export function testBufferPool(device: GPUDevice): TestBufferPool {
  const owned: GPUBuffer[] = [];
  return {
    buffer(n, data) {
      const buf = createWeightBuffer(device, n);
      if (data) uploadFloats(device, buf, data);
      owned.push(buf);
      return buf;
    },
    destroyAll() {
      for (const b of owned.splice(0)) b.destroy();
    },
  };
}
