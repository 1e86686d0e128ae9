/**
 * Per-call kernel parameters without a buffer per call.
 *
 * Kernels are encoded thousands of times per generation (every tensor of every
 * offspring), often many into one command encoder before a single submit. Each call
 * gets its own slot of a large uniform buffer, bound with a dynamic offset, so bind
 * groups can be cached by buffer identity. queue.writeBuffer runs at once on the queue
 * timeline while the dispatches run at submit, so a slot must never be rewritten
 * before its encoder is submitted; we cannot see submits, so slots are never reused:
 * when a ring fills, a fresh buffer replaces it and the old one is left to GC (a
 * pending command buffer keeps it alive). At 256 B per slot that is 1 MiB per 4096 calls.
 */

export const DEFAULT_RING_SLOTS = 4096;

export class UniformRing {
  readonly slotBytes: number;
  readonly slotCount: number;
  private buffer: GPUBuffer | null = null;
  private next = 0;
  /** Incremented whenever the ring buffer is replaced; bind groups made for an older generation are stale. */
  generation = 0;
  /** Bind groups that reference the current ring buffer, keyed by the kernel; cleared on rotation. */
  readonly bindGroups = new Map<string, GPUBindGroup>();

  constructor(
    private readonly device: GPUDevice,
    slotCount = DEFAULT_RING_SLOTS,
  ) {
    // 256 is the largest minUniformBufferOffsetAlignment the spec allows.
    this.slotBytes = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.slotCount = slotCount;
  }

  /** Write data (≤ slotBytes) into a fresh slot; returns the ring buffer and the slot's dynamic offset. */
  allocate(data: ArrayBuffer): { buffer: GPUBuffer; offset: number } {
    if (data.byteLength > this.slotBytes) {
      throw new RangeError(`uniform-ring.ts: ${data.byteLength} bytes of parameters exceed a ${this.slotBytes}-byte slot`);
    }
    if (!this.buffer || this.next >= this.slotCount) {
      this.buffer = this.device.createBuffer({
        label: `uniform ring #${this.generation + 1}`,
        size: this.slotBytes * this.slotCount,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      this.next = 0;
      this.generation++;
      this.bindGroups.clear();
    }
    const offset = this.next * this.slotBytes;
    this.next++;
    this.device.queue.writeBuffer(this.buffer, offset, data);
    return { buffer: this.buffer, offset };
  }
}

const rings = new WeakMap<GPUDevice, UniformRing>();

/** Replace the device's ring, e.g. with a tiny one so tests cross rotations. */
export function configureUniformRing(device: GPUDevice, slotCount: number): UniformRing {
  const ring = new UniformRing(device, slotCount);
  rings.set(device, ring);
  return ring;
}

/** The device's shared ring. */
export function getUniformRing(device: GPUDevice): UniformRing {
  let ring = rings.get(device);
  if (!ring) {
    ring = new UniformRing(device);
    rings.set(device, ring);
  }
  return ring;
}

const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;

/** A stable small integer per GPUBuffer object, for bind group cache keys. */
export function bufferId(buffer: GPUBuffer): number {
  let id = bufferIds.get(buffer);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(buffer, id);
  }
  return id;
}
