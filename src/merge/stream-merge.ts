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
 * Linear and task arithmetic on bfloat16 in and out take stream-bf16.ts: the stored bytes read
 * straight into one WebAssembly.Memory and merged there, the same bytes as the float32 route.
 */
import { FLOAT_DTYPES, shapeSize } from '../formats/safetensors-format';
import { decodeFloats, floatEntries, rowLength, type TensorEntry, type TensorSource } from '../formats/safetensors-source';
import { encodeFloats } from '../formats/safetensors-stream-write';
import type { MergeParams } from '../protocol/settings';
import { baseAsModel } from './base-as-model';
import type { MergeMethodDef } from './method';
import { paramsForTensor } from './param-rules';
import { chunksAlongRows } from './stream-chunks';
import { Bf16Codec, Bf16StreamKernel, bf16MergeScalars, type Bf16MergeScalars } from './stream-bf16';
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
  /** write is done with its bytes when its promise settles (a file sink): the bfloat16 path then hands over its output buffer, reused after. */
  writeDone?: boolean;
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

let threadCodec: Bf16Codec | null | undefined;

/** This thread's bfloat16 codec (null without wasm SIMD). */
function codecHere(): Bf16Codec | null {
  if (threadCodec === undefined) threadCodec = Bf16Codec.create();
  return threadCodec;
}

/** Float32 values in the output dtype: bfloat16 through the codec (into `into` when given), the others by encodeFloats. */
export function encodeOut(values: Float32Array, dtype: StreamDtype, into?: Uint8Array): Uint8Array {
  const codec = dtype === 'BF16' ? codecHere() : null;
  return codec ? codec.encode(values, into) : encodeFloats(values, dtype);
}

/** Stored bfloat16 bytes as float32: through the codec (into `into` when given), else by decodeFloats. */
function decodeBf16(bytes: Uint8Array, name: string, into?: Float32Array): Float32Array {
  const codec = codecHere();
  return codec ? codec.decodeInto(bytes, into ?? new Float32Array(bytes.byteLength / 2)) : decodeFloats('BF16', bytes, name);
}

/** A job's merge and encoding: the registry's CPU merge of the tensor, in the output dtype. */
export function runMergeJob(job: MergeJob): Uint8Array {
  const out = new Float32Array(job.inputs[0]!.length);
  const models = job.models.map((i) => job.inputs[i]!);
  methodFor(job.method).cpu({ name: job.name, offset: job.offset, dims: job.dims, params: job.params, models, base: job.base === null ? null : job.inputs[job.base]!, out }, null);
  return encodeOut(out, job.dtype);
}

/** Arrays reused from step to step, grown to the largest asked for: a fresh large array per step costs its page faults and collections. */
class Scratch<T extends Float32Array | Uint8Array> {
  private arrays = new Map<string, T>();
  constructor(private readonly make: (n: number) => T) {}
  take(key: string, n: number): T {
    let a = this.arrays.get(key);
    if (!a || a.length < n) this.arrays.set(key, (a = this.make(n)));
    return a.subarray(0, n) as T;
  }
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
  /** The bfloat16 fast path's scalars (stream-bf16.ts), or null: the float32 route. */
  bf16: Bf16MergeScalars | null;
}

/** A step's inputs: the stored bfloat16 bytes (fast path), their float32 values decoded when needed. */
interface StepData {
  raw: Uint8Array[] | null;
  floats: Float32Array[] | null;
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

/** Equal stored bytes (bfloat16 decodes one to one, so equal bytes are equal float32 bits). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const ua = new Uint32Array(a.buffer, a.byteOffset, words);
    const ub = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let k = 0; k < words; k++) if (ua[k] !== ub[k]) return false;
    i = words * 4;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameData(d: StepData): boolean {
  return d.raw ? d.raw.every((r, j) => j === 0 || sameBytes(r, d.raw![0]!)) : d.floats!.every((f, j) => j === 0 || sameBits(f, d.floats![0]!));
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
  // A step is read while the one before merges when the two fit twice the chunk budget: a whole
  // tensor of the whole-tensor methods just past the budget (4096 × 3840 and 4 inputs) still
  // overlaps its reads with the merge before it.
  const readAheadBytes = 2 * budget;
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
  const rowsOf = (step: Step): [number, number] => step.rows ?? [0, step.entry.shape[0] ?? 1];
  /** A step's stored bfloat16 bytes per input. */
  const rawBytes = (step: Step) => (rowsOf(step)[1] - rowsOf(step)[0]) * rowLength(step.entry.shape) * 2;
  // Steps read in turn decode into arrays reused later: those that fit the read-ahead budget
  // alternate between two sets (the step merged and the step read ahead), larger ones (never read
  // ahead) share a third. Out of turn (a band read again) and with a pool (the arrays travel to
  // its threads), fresh arrays.
  const rawScratch = new Scratch((n) => new Uint8Array(n));
  const floatScratch = new Scratch((n) => new Float32Array(n));
  const scratchSet = (step: Step, k: number | null): string | null => (k === null || req.pool ? null : stepBytes(step) <= readAheadBytes ? String(k % 2) : 'large');
  const readFloats = (step: Step, k: number | null): Promise<Float32Array[]> =>
    Promise.all(
      sets.map(async (src, j) => {
        if (src.entry(step.entry.name)!.dtype !== 'BF16' || !src.readRowBytes || !codecHere()) return step.rows ? src.readRows(step.entry.name, step.rows[0], step.rows[1]) : src.readTensor(step.entry.name);
        const set = scratchSet(step, k);
        const raw = await src.readRowBytes(step.entry.name, ...rowsOf(step), set === null ? undefined : rawScratch.take(`${set}/${j}`, rawBytes(step)));
        return decodeBf16(raw, step.entry.name, set === null ? undefined : floatScratch.take(`${set}/${j}`, rawBytes(step) / 2));
      }),
    );
  // Step k of the bfloat16 path is read into the kernel's input set k % 2 (the step read ahead
  // goes to the other); a step read again out of turn (a band seen equal before) into fresh arrays.
  const readRaw = (step: Step, set: 0 | 1 | null): Promise<Uint8Array[]> =>
    Promise.all(sets.map((src, j) => src.readRowBytes!(step.entry.name, ...rowsOf(step), set === null ? undefined : bf16Kernel!.region(set, j, rawBytes(step)))));
  const read = async (step: Step, k: number | null = null): Promise<StepData> =>
    step.bf16 ? { raw: await readRaw(step, k === null ? null : ((k % 2) as 0 | 1)), floats: null } : { raw: null, floats: await readFloats(step, k) };
  const floatsOf = (step: Step, d: StepData): Float32Array[] => (d.floats ??= d.raw!.map((r) => decodeBf16(r, step.entry.name)));
  const firstFloats = (step: Step, d: StepData): Float32Array => d.floats?.[0] ?? decodeBf16(d.raw![0]!, step.entry.name);
  // The encoded output of a step is handed over and reused after when write is done with it on return.
  const outBytes = new Scratch((n) => new Uint8Array(n));
  const encodeStep = (values: Float32Array, dtype: StreamDtype): Uint8Array =>
    encodeOut(values, dtype, dtype === 'BF16' && req.writeDone === true && !req.pool ? outBytes.take('out', values.length * 2) : undefined);
  // The bfloat16 fast path: linear and task arithmetic where every input and the output are bfloat16.
  const bf16Kernel = ['linear', 'task_arithmetic'].includes(method.id) ? Bf16StreamKernel.create() : null;
  const bf16Of = (entry: TensorEntry, depth: number): Bf16MergeScalars | null => {
    if (!bf16Kernel || entry.shape.length === 0 || req.outDtype(entry.name) !== 'BF16') return null;
    if (!sets.every((src) => src.readRowBytes && src.entry(entry.name)?.dtype === 'BF16')) return null;
    try {
      return bf16MergeScalars(method, merging.params, entry.name, depth, merging.models.length, merging.base !== null);
    } catch {
      // Params the twin refuses: the float32 route meets them and fails with the twin's message.
      return null;
    }
  };
  // The twin's own checks of a tensor's params (λ, the weights' count), run on one element before
  // its first bfloat16 merge, so bad params fail where and as they would.
  const checked = new Set<number>();
  const checkParams = (step: Step) => {
    if (checked.has(step.tensor)) return;
    checked.add(step.tensor);
    const one = () => new Float32Array(1);
    method.cpu({ name: step.entry.name, offset: 0, dims: [1], params: step.params, models: merging.models.map(one), base: merging.base ? one() : null, out: one() }, null);
  };
  // The float32 output of a step whose encoding copies it (every dtype but F32) reuses one
  // buffer, zeroed as a fresh one would be: a fresh array per step costs its page faults.
  let outScratch = new Float32Array(0);
  const outFor = (n: number, reuse: boolean): Float32Array => {
    if (!reuse) return new Float32Array(n);
    if (outScratch.length < n) outScratch = new Float32Array(n);
    return outScratch.subarray(0, n).fill(0);
  };
  const mergeBand = (step: Step, data: Float32Array[], at: number, reuse = false): Float32Array => {
    const view = (src: TensorSource) => data[sets.indexOf(src)]!;
    const out = outFor(data[0]!.length, reuse);
    const dims = step.rows ? [step.rows[1] - step.rows[0], ...step.entry.shape.slice(1)] : step.entry.shape;
    method.cpu({ name: step.entry.name, offset: at, dims, params: step.params, models: merging.models.map(view), base: merging.base ? view(merging.base) : null, out }, null);
    return out;
  };
  // A step merged and encoded: by the bfloat16 kernel where it applies (a NaN output: the float32 route).
  const mergeStep = (step: Step, data: StepData, at: number, dtype: StreamDtype): Uint8Array => {
    if (data.raw && step.bf16) {
      checkParams(step);
      const view = (src: TensorSource) => data.raw![sets.indexOf(src)]!;
      const bytes = bf16Kernel!.merge(merging.models.map(view), merging.base ? view(merging.base) : null, step.bf16, req.writeDone === true && !req.pool);
      if (bytes) return bytes;
    }
    return encodeStep(mergeBand(step, floatsOf(step, data), at, dtype !== 'F32'), dtype);
  };

  // Every read in order: a tensor whole, or its row bands. The next step is read while this
  // one merges (when it fits readAheadBytes), so the disk and the CPU work at once.
  const steps: Step[] = [];
  for (const [i, entry] of floats.entries()) {
    const params = paramsForTensor(merging.params, entry.name, i / last);
    const bf16 = bf16Of(entry, i / last);
    const bands = chunksAlongRows(method, entry.shape, sets.length + 1, budget);
    if (bands === null) steps.push({ tensor: i, entry, params, rows: null, last: true, bf16 });
    else bands.forEach((rows, k) => steps.push({ tensor: i, entry, params, rows, last: k === bands.length - 1, bf16 }));
    if (bands !== null) summary.chunked++;
  }
  const stepBytes = (step: Step) => (step.rows ? (step.rows[1] - step.rows[0]) * rowLength(step.entry.shape) : shapeSize(step.entry.shape)) * 4 * (sets.length + 1);
  let next: Promise<StepData> | null = null;
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
  const largestFast = steps.reduce((n, s) => (s.bf16 ? Math.max(n, rawBytes(s)) : n), 0);
  if (largestFast > 0) bf16Kernel!.prepare(sets.length, largestFast);
  for (const [k, step] of steps.entries()) {
    const data = await (next ?? read(step, k));
    const following = steps[k + 1];
    next = following && stepBytes(following) <= readAheadBytes ? read(following, k + 1) : null;
    // Its failure is reported when it is awaited, not as an unhandled rejection meanwhile.
    next?.catch(() => undefined);
    const { entry } = step;
    const dtype = req.outDtype(entry.name);
    const row = rowLength(entry.shape);
    const at = (s: Step) => offset + (s.rows ? s.rows[0] * row : 0);
    const share = step.rows ? (step.rows[1] - step.rows[0]) / Math.max(1, entry.shape[0] ?? 1) : 1;
    bytesRead += sets.reduce((n, src) => n + (src.entry(entry.name)!.end - src.entry(entry.name)!.start) * share, 0);
    if (!varies && !sameData(data)) {
      varies = true;
      // Earlier bands were all equal: read them again and merge them now, in order.
      for (const p of pending) await emit(entry.name, mergeStep(p, await read(p), at(p), dtype));
      pending = [];
    }
    if (varies && step.rows === null && req.pool && !step.bf16) {
      const job = { method: method.id, name: entry.name, offset: at(step), dims: entry.shape, params: step.params, inputs: floatsOf(step, data), models: merging.models.map(index), base: merging.base ? index(merging.base) : null, dtype };
      await emit(entry.name, req.pool.merge(job));
    } else if (varies) await emit(entry.name, mergeStep(step, data, at(step), dtype));
    else if (step.rows === null) await emit(entry.name, encodeStep(firstFloats(step, data), dtype));
    else pending.push(step);
    if (!step.last) continue;
    // A tensor no input changes is the first model's, as read.
    for (const p of pending) await emit(entry.name, encodeStep(firstFloats(p, await read(p)), dtype));
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
