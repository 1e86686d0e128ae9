/**
 * A weight-only merge that streams: one tensor at a time is read from every input (a
 * TensorSource: file handles in the CLI, Blob slices in the studio), merged by the registry's
 * per-tensor CPU merge, encoded in the output dtype and handed to `write`, so memory holds
 * about N + 2 tensors whatever the model's size. Tensors past the chunk budget are cut into
 * bands of rows for the methods whose math is elementwise (stream-chunks.ts); the others need
 * whole-tensor statistics (TIES' threshold, DELLA's ranks, SLERP's norms) and get the tensor whole.
 * The result is bit for bit the in-memory merge's (CpuMerger over layoutOfTensors): the same
 * tensors are merged (those some input changes), with the same flat offsets (DARE's random
 * counters), depths (file order) and per-tensor rules; unchanged tensors are the first model's.
 * Shapes are checked by the caller (tensor-sets.ts checkSameTensors has the messages).
 */
import { FLOAT_DTYPES, shapeSize } from '../formats/safetensors-format';
import { floatEntries, rowLength, type TensorEntry, type TensorSource } from '../formats/safetensors-source';
import { encodeFloats } from '../formats/safetensors-stream-write';
import type { MergeParams } from '../protocol/settings';
import { baseAsModel } from './base-as-model';
import type { MergeMethodDef } from './method';
import { paramsForTensor } from './param-rules';
import { chunksAlongRows } from './stream-chunks';
import { methodFor } from './registry';

export type StreamDtype = 'F64' | 'F32' | 'F16' | 'BF16';

/** Where a streamed merge stands, after each tensor. */
export interface StreamProgress {
  /** Tensors done, of `count` (float tensors of the first model). */
  done: number;
  count: number;
  name: string;
  /** Stored bytes read from the inputs so far, of `totalBytes`. */
  bytesRead: number;
  totalBytes: number;
}

export interface StreamMergeRequest {
  /** The models and the base as given (before a base becomes one of the method's models). */
  models: readonly TensorSource[];
  base: TensorSource | null;
  method: MergeMethodDef;
  params: MergeParams;
  /** The dtype each float tensor is written in. */
  outDtype(name: string): StreamDtype;
  /** Receives each float tensor's bytes, in the first model's order, whole or in row bands. */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Bytes of float32 a tensor's inputs and output may take before it is cut into row bands. */
  chunkBytes?: number;
  onProgress?(p: StreamProgress): void;
  /** Where whole tensors are merged besides this thread (worker threads); absent: here, one at a time. */
  pool?: TensorMergePool;
}

/** One whole tensor's merge, as a worker runs it (runMergeJob): structured-clonable, its inputs transferable. */
export interface MergeJob {
  method: string;
  name: string;
  offset: number;
  dims: number[];
  params: MergeParams;
  /** Every set's values (the models, then the base), and which of them the method reads as models and as base. */
  inputs: Float32Array[];
  models: number[];
  base: number | null;
  dtype: StreamDtype;
}

/** Merges jobs elsewhere, up to `size` at once; results in any order (streamMerge writes them in order). */
export interface TensorMergePool {
  readonly size: number;
  merge(job: MergeJob): Promise<Uint8Array>;
}

/** A job's merge and encoding: the registry's CPU merge of the tensor, in the output dtype. */
export function runMergeJob(job: MergeJob): Uint8Array {
  const out = new Float32Array(job.inputs[0]!.length);
  const models = job.models.map((i) => job.inputs[i]!);
  methodFor(job.method).cpu({ name: job.name, offset: job.offset, dims: job.dims, params: job.params, models, base: job.base === null ? null : job.inputs[job.base]!, out }, null);
  return encodeFloats(out, job.dtype);
}

export interface StreamMergeSummary {
  tensors: number;
  /** Tensors some input changes (the in-memory layout's slots). */
  merged: number;
  /** Their elements (the layout's totalSize). */
  mergedSize: number;
  /** Tensors that were read and merged in row bands. */
  chunked: number;
}

interface Step {
  tensor: number;
  entry: TensorEntry;
  params: MergeParams;
  /** Rows [start, end) of a banded tensor; null: the whole tensor. */
  rows: [number, number] | null;
  /** The tensor's last step. */
  last: boolean;
}

/** 256 MiB of float32 per tensor step: a 7B model's largest matrices stream in bands. */
export const DEFAULT_CHUNK_BYTES = 256 << 20;

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Bytes the float tensors of these sources store. */
export function storedFloatBytes(sources: readonly TensorSource[]): number {
  return sources.reduce((n, s) => n + floatEntries(s).reduce((m, t) => m + (t.end - t.start), 0), 0);
}

export async function streamMerge(req: StreamMergeRequest): Promise<StreamMergeSummary> {
  const { models, base, method } = req;
  if (method.needs.devData) throw new Error(`${method.id} needs dev data (its statistics come from activations): it cannot stream from the weights alone.`);
  if (models.length === 0) throw new Error('stream-merge.ts: no models to merge.');
  // Which tensors are merged: those on which any model or the base differs from the first model.
  const sets = base ? [...models, base] : [...models];
  const merging = baseAsModel(models, base, method, req.params);
  const floats = floatEntries(models[0]!);
  const last = Math.max(1, floats.length - 1);
  const budget = req.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const totalBytes = storedFloatBytes(sets);
  let bytesRead = 0;
  let offset = 0;
  const summary: StreamMergeSummary = { tensors: floats.length, merged: 0, mergedSize: 0, chunked: 0 };

  // The float type check happens before any read: a tensor that is a float in the first model only is refused.
  for (const e of floats) {
    for (const src of sets) {
      const other = src.entry(e.name);
      if (other && !FLOAT_DTYPES.has(other.dtype)) throw new Error(`${src.name}: tensor "${e.name}" is ${other.dtype}, not a float tensor as in ${models[0]!.name}.`);
    }
  }
  const read = (step: Step): Promise<Float32Array[]> => Promise.all(sets.map((src) => (step.rows ? src.readRows(step.entry.name, step.rows[0], step.rows[1]) : src.readTensor(step.entry.name))));
  const mergeBand = (step: Step, data: Float32Array[], at: number): Float32Array => {
    const view = (src: TensorSource) => data[sets.indexOf(src)]!;
    const out = new Float32Array(data[0]!.length);
    const dims = step.rows ? [step.rows[1] - step.rows[0], ...step.entry.shape.slice(1)] : step.entry.shape;
    method.cpu({ name: step.entry.name, offset: at, dims, params: step.params, models: merging.models.map(view), base: merging.base ? view(merging.base) : null, out }, null);
    return out;
  };

  // Every read in order: a tensor whole, or its row bands. The next step is read while this
  // one merges (when it fits the budget), so the disk and the CPU work at once.
  const steps: Step[] = [];
  for (const [i, entry] of floats.entries()) {
    const params = paramsForTensor(merging.params, entry.name, i / last);
    const bands = chunksAlongRows(method, entry.shape, sets.length + 1, budget);
    if (bands === null) steps.push({ tensor: i, entry, params, rows: null, last: true });
    else bands.forEach((rows, k) => steps.push({ tensor: i, entry, params, rows, last: k === bands.length - 1 }));
    if (bands !== null) summary.chunked++;
  }
  const stepBytes = (step: Step) => (step.rows ? (step.rows[1] - step.rows[0]) * rowLength(step.entry.shape) : shapeSize(step.entry.shape)) * 4 * (sets.length + 1);
  let next: Promise<Float32Array[]> | null = null;
  // The bands of the current tensor seen equal everywhere so far (not yet written): whether it
  // is merged is known at its first band that differs.
  let pending: Step[] = [];
  let varies = false;
  // Outputs not yet written, in order: with a pool, up to its size merge at once.
  const queue: { name: string; bytes: Uint8Array | Promise<Uint8Array> }[] = [];
  const flush = async (keep: number) => {
    while (queue.length > keep) {
      const head = queue.shift()!;
      await req.write(head.name, await head.bytes);
    }
  };
  const emit = async (name: string, bytes: Uint8Array | Promise<Uint8Array>) => {
    if (bytes instanceof Promise) bytes.catch(() => undefined);
    queue.push({ name, bytes });
    await flush(req.pool ? req.pool.size : 0);
  };
  const index = (src: TensorSource) => sets.indexOf(src);
  for (const [k, step] of steps.entries()) {
    const data = await (next ?? read(step));
    const following = steps[k + 1];
    next = following && stepBytes(following) <= budget ? read(following) : null;
    // Its failure is reported when it is awaited, not as an unhandled rejection meanwhile.
    next?.catch(() => undefined);
    const { entry } = step;
    const dtype = req.outDtype(entry.name);
    const row = rowLength(entry.shape);
    const at = (s: Step) => offset + (s.rows ? s.rows[0] * row : 0);
    const share = step.rows ? (step.rows[1] - step.rows[0]) / Math.max(1, entry.shape[0] ?? 1) : 1;
    bytesRead += sets.reduce((n, src) => n + (src.entry(entry.name)!.end - src.entry(entry.name)!.start) * share, 0);
    if (!varies && data.some((d, j) => j > 0 && !sameBits(d, data[0]!))) {
      varies = true;
      // Earlier bands were all equal: read them again and merge them now, in order.
      for (const p of pending) await emit(entry.name, encodeFloats(mergeBand(p, await read(p), at(p)), dtype));
      pending = [];
    }
    if (varies && step.rows === null && req.pool) {
      const job = { method: method.id, name: entry.name, offset: at(step), dims: entry.shape, params: step.params, inputs: data, models: merging.models.map(index), base: merging.base ? index(merging.base) : null, dtype };
      await emit(entry.name, req.pool.merge(job));
    } else if (varies) await emit(entry.name, encodeFloats(mergeBand(step, data, at(step)), dtype));
    else if (step.rows === null) await emit(entry.name, encodeFloats(data[0]!, dtype));
    else pending.push(step);
    if (!step.last) continue;
    // A tensor no input changes is the first model's, as read.
    for (const p of pending) await emit(entry.name, encodeFloats((await read(p))[0]!, dtype));
    pending = [];
    if (varies) {
      const size = shapeSize(entry.shape);
      summary.merged++;
      summary.mergedSize += size;
      offset += size;
    }
    varies = false;
    req.onProgress?.({ done: step.tensor + 1, count: floats.length, name: entry.name, bytesRead, totalBytes });
  }
  await flush(0);
  return summary;
}
