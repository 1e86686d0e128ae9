/**
 * The whole tensors of a streamed merge (src/merge/stream-merge.ts) merged on WebGPU, as its
 * TensorMergePool: for each tensor, its inputs go into buffers of their own, the method's GPU
 * merger (the registry's, as the GPU population runs it) merges them, the result is read back
 * and encoded in the output dtype, and the buffers are freed. Two tensors are in flight at once
 * (size 2): while one merges and is read back, the stream reads and uploads the next, so the
 * copies overlap the kernels and the device holds at most two tensor sets.
 * What never reaches it stays on the CPU: row bands and the bfloat16 one-pass kernel of linear
 * and task arithmetic (bound by the disk, not the arithmetic), and a tensor over the device's
 * largest buffer (merged here with the CPU twin, same job).
 * Imports the GPU buffers, the merge registry and the stream merge's job types.
 */
import { createWeightBuffer, readFloats, uploadFloats } from '../gpu/buffers';
import { shapeSize } from '../formats/safetensors-format';
import type { ParameterLayout } from '../merge/layout';
import type { GpuMerger, GpuTensorJob } from '../merge/method';
import { gpuPlan, methodFor } from '../merge/registry';
import { encodeOut, runMergeJob, type MergeJob, type TensorMergePool } from '../merge/stream-merge';
import type { MergeParams } from '../protocol/settings';

/** A float tensor of the merge: its name and shape, in the first model's file order. */
export interface PoolTensor {
  name: string;
  dims: readonly number[];
}

/** The layout the GPU mergers are made for: every float tensor, in order (depths as the stream merge's). */
export function streamLayout(tensors: readonly PoolTensor[]): ParameterLayout {
  let offset = 0;
  const last = Math.max(1, tensors.length - 1);
  const slots = tensors.map((t, i) => {
    const size = shapeSize(t.dims);
    const slot = { name: t.name, dims: [...t.dims], size, offset, depth: i / last, layer: t.name };
    offset += size;
    return slot;
  });
  return { slots, totalSize: offset };
}

export class GpuTensorMergePool implements TensorMergePool {
  /** Tensors merging at once: one on the device while the next is read and uploaded. */
  readonly size = 2;
  /** Tensors merged on the device, and those past its largest buffer merged on the CPU. */
  readonly counts = { gpu: 0, cpu: 0 };

  private constructor(
    private readonly device: GPUDevice,
    private readonly merger: GpuMerger,
  ) {}

  /**
   * The pool for this merge (params after the base-as-model rule, `modelCount` the models the
   * method merges), or null when the method has no GPU merger or these tensors must stay on
   * the CPU (the registry's gpuPlan says so, e.g. DELLA past its sort's binding).
   */
  static create(device: GPUDevice, params: MergeParams, tensors: readonly PoolTensor[], modelCount: number): GpuTensorMergePool | null {
    const layout = streamLayout(tensors);
    const method = methodFor(params.method);
    // Data-aware methods (RegMean, Fisher) keep their dev-data path: they never stream.
    if (method.needs.devData || !method.gpu || layout.slots.length === 0) return null;
    const plan = gpuPlan(params, null, layout);
    if (!plan) return null;
    const largest = Math.max(...layout.slots.map((s) => s.size));
    return new GpuTensorMergePool(device, method.gpu({ device, layout, modelCount, largest, inputs: plan.inputs, params }));
  }

  async merge(job: MergeJob): Promise<Uint8Array> {
    const size = job.inputs[0]!.length;
    if (Math.max(16, size * 4) > this.device.limits.maxBufferSize) {
      this.counts.cpu++;
      return runMergeJob(job);
    }
    const buffers = job.inputs.map((values, i) => {
      const buffer = createWeightBuffer(this.device, size, `${job.name} input ${i}`);
      uploadFloats(this.device, buffer, values);
      return buffer;
    });
    const out = createWeightBuffer(this.device, size, `${job.name} merged`);
    try {
      const tensorJob: GpuTensorJob = {
        name: job.name,
        offset: job.offset,
        size,
        params: job.params,
        models: job.models.map((i) => buffers[i]!),
        base: job.base === null ? null : buffers[job.base]!,
        out,
      };
      if (this.merger.kind === 'batched') await this.merger.mergeAll([tensorJob]);
      else {
        const encoder = this.device.createCommandEncoder({ label: `merge ${job.method} ${job.name}` });
        this.merger.encode(encoder, tensorJob);
        this.device.queue.submit([encoder.finish()]);
      }
      const merged = await readFloats(this.device, out, size);
      this.counts.gpu++;
      return encodeOut(merged, job.dtype);
    } finally {
      for (const b of [...buffers, out]) b.destroy();
    }
  }

  close(): void {
    this.merger.destroy();
  }
}
