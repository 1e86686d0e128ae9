/** Uploads of fixed per-run inputs (RegMean's operators, Fisher's weights) for the data-aware GPU mergers. */
import { createWeightBuffer, uploadFloats } from '../../gpu/buffers';

/** One GPU buffer per array, per tensor name; destroy() frees them all. */
export function uploadByName(device: GPUDevice, label: string, arrays: ReadonlyMap<string, readonly Float32Array[]>): { buffers: Map<string, GPUBuffer[]>; destroy(): void } {
  const buffers = new Map<string, GPUBuffer[]>();
  for (const [name, list] of arrays) {
    buffers.set(
      name,
      list.map((a, i) => {
        const buf = createWeightBuffer(device, a.length, `${label}:${name}[${i}]`);
        uploadFloats(device, buf, a);
        return buf;
      }),
    );
  }
  return {
    buffers,
    destroy() {
      for (const list of buffers.values()) for (const b of list) b.destroy();
    },
  };
}
