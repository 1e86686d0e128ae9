/**
 * GPU top-k magnitude select: records the histogram passes and step kernels into the
 * caller's encoder. The cut stays in a GPU cut table that the TIES kernels read, so a
 * whole merge is one submission with no read-back; readCut exists for tests and tools.
 *
 * Per cut: 1 init + 3 magnitude passes + 3 tie-index passes (each a histogram dispatch
 * per binding chunk and one step). The tie passes are always recorded because the
 * host cannot know whether ties straddle the cut; when they do not, their threads
 * return without reading the tensor.
 */
import { readFloats } from '../../gpu/buffers';
import type { EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { encodeRanged, encodeSingle } from './encode-ranged';
import {
  HISTOGRAM_BINS,
  INDEX_PASSES,
  MAGNITUDE_PASSES,
  floatFromBits,
  topKMagnitudeCut,
  type MagnitudeCut,
  type RadixPass,
} from './magnitude-select.cpu';
import {
  CUT_FIELD,
  CUT_STRIDE,
  HISTOGRAM_MODE,
  HISTOGRAM_PER_THREAD,
  HISTOGRAM_UNIFORM_BYTES,
  HISTOGRAM_WORKGROUP,
  SELECT_OP,
  SELECT_STEP_UNIFORM_BYTES,
  magnitudeHistogramWgsl,
  selectStepWgsl,
} from './magnitude-select.wgsl';

/** Largest tensor a cut can index (u32 tie indices, tie_end = n). */
export const MAX_SELECT_ELEMENTS = 0xffff_ffff;

/** A histogram and `slots` cut slots; one slot per model of a TIES merge. */
export interface CutTable {
  histogram: GPUBuffer;
  cuts: GPUBuffer;
  slots: number;
  destroy(): void;
}

export function createCutTable(device: GPUDevice, slots: number): CutTable {
  if (!Number.isInteger(slots) || slots < 1) {
    throw new KernelParamsError(`magnitude-select.ts: a cut table needs at least one slot, got ${slots}`);
  }
  const histogram = device.createBuffer({ label: 'top-k histogram', size: HISTOGRAM_BINS * 4, usage: GPUBufferUsage.STORAGE });
  const cuts = device.createBuffer({
    label: `top-k cuts[${slots}]`,
    size: slots * CUT_STRIDE * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  return {
    histogram,
    cuts,
    slots,
    destroy() {
      histogram.destroy();
      cuts.destroy();
    },
  };
}

const histogramCode = new Map<boolean, string>();
let stepCode: string | undefined;

function encodeStep(device: GPUDevice, encoder: GPUCommandEncoder, table: CutTable, fields: number[]): void {
  stepCode ??= selectStepWgsl();
  const data = new ArrayBuffer(SELECT_STEP_UNIFORM_BYTES);
  new Uint32Array(data).set(fields);
  encodeSingle(
    device,
    encoder,
    { name: 'top-k step', code: stepCode, whole: ['storage', 'storage'], uniformBytes: SELECT_STEP_UNIFORM_BYTES },
    [table.histogram, table.cuts],
    data,
  );
}

function encodeHistogram(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  values: GPUBuffer,
  base: GPUBuffer | null,
  elementCount: number,
  table: CutTable,
  slot: number,
  mode: number,
  pass: RadixPass,
  first: boolean,
  opts: EncodeOptions,
): void {
  const hasBase = base !== null;
  let code = histogramCode.get(hasBase);
  if (!code) {
    code = magnitudeHistogramWgsl(hasBase);
    histogramCode.set(hasBase, code);
  }
  const filterShift = pass.shift + pass.bits;
  encodeRanged(
    device,
    encoder,
    {
      name: hasBase ? 'top-k histogram (delta)' : 'top-k histogram',
      code,
      ranged: hasBase ? ['read-only-storage', 'read-only-storage'] : ['read-only-storage'],
      whole: ['storage', 'read-only-storage'],
      uniformBytes: HISTOGRAM_UNIFORM_BYTES,
      workgroupSize: HISTOGRAM_WORKGROUP,
      elementsPerThread: HISTOGRAM_PER_THREAD,
    },
    hasBase ? [values, base] : [values],
    [table.histogram, table.cuts],
    elementCount,
    (start, count) =>
      Uint32Array.of(count, start, slot, mode, pass.shift, (1 << pass.bits) - 1, first ? 0 : filterShift, first ? 0 : 1).buffer,
    opts,
  );
}

/** The histogram + step pairs of one radix select (magnitude, or tie index). */
function encodePasses(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  values: GPUBuffer,
  base: GPUBuffer | null,
  elementCount: number,
  table: CutTable,
  slot: number,
  byIndex: boolean,
  opts: EncodeOptions,
): void {
  const passes = byIndex ? INDEX_PASSES : MAGNITUDE_PASSES;
  const mode = byIndex ? HISTOGRAM_MODE.tieIndex : HISTOGRAM_MODE.magnitude;
  const op = byIndex ? SELECT_OP.index : SELECT_OP.magnitude;
  passes.forEach((pass, p) => {
    encodeHistogram(device, encoder, values, base, elementCount, table, slot, mode, pass, p === 0, opts);
    encodeStep(device, encoder, table, [slot, op, pass.shift, 1 << pass.bits, p === passes.length - 1 ? 1 : 0, 0, 0, 0]);
  });
}

function checkSelect(elementCount: number, table: CutTable, slot: number): void {
  if (!Number.isInteger(elementCount) || elementCount < 0 || elementCount > MAX_SELECT_ELEMENTS) {
    throw new KernelParamsError(`magnitude-select.ts: element count must be an integer in [0, 2^32), got ${elementCount}`);
  }
  if (!Number.isInteger(slot) || slot < 0 || slot >= table.slots) {
    throw new KernelParamsError(`magnitude-select.ts: slot ${slot} outside the table's ${table.slots} slots`);
  }
}

/**
 * Record the exact top-k cut of |values| (or |values − base|) into cut slot `slot`.
 * Same cut as topKMagnitudeCut on the CPU, bit for bit (subnormal deltas aside: a GPU
 * may flush them to zero).
 */
export function encodeTopKMagnitude(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  values: GPUBuffer,
  base: GPUBuffer | null,
  elementCount: number,
  k: number,
  table: CutTable,
  slot: number,
  opts: EncodeOptions = {},
): void {
  checkSelect(elementCount, table, slot);
  if (!Number.isInteger(k) || k < 0) throw new KernelParamsError(`magnitude-select.ts: k must be a non-negative integer, got ${k}`);
  const fixed = k === 0 || k >= elementCount;
  encodeStep(device, encoder, table, [slot, SELECT_OP.init, 0, 0, 0, Math.min(k, elementCount), elementCount, fixed ? 1 : 0]);
  if (fixed) return;
  encodePasses(device, encoder, values, base, elementCount, table, slot, false, opts);
  encodePasses(device, encoder, values, base, elementCount, table, slot, true, opts);
}

/** Read one cut back (tests, diagnostics). */
export async function readCut(device: GPUDevice, table: CutTable, slot: number): Promise<MagnitudeCut> {
  const raw = new Uint32Array((await readFloats(device, table.cuts, CUT_STRIDE, slot * CUT_STRIDE)).buffer);
  return { thresholdBits: raw[CUT_FIELD.thresholdBits]!, tieEnd: raw[CUT_FIELD.tieEnd]! };
}

/** GPU twin of kthLargestMagnitude (1 ≤ k ≤ n): one submission, reads back 32 bytes. */
export async function gpuKthLargestMagnitude(
  device: GPUDevice,
  values: GPUBuffer,
  elementCount: number,
  k: number,
  opts: EncodeOptions = {},
): Promise<number> {
  if (!Number.isInteger(k) || k < 1 || k > elementCount) {
    throw new KernelParamsError(`magnitude-select.ts: k must be an integer in [1, ${elementCount}], got ${k}`);
  }
  const table = createCutTable(device, 1);
  try {
    checkSelect(elementCount, table, 0);
    const encoder = device.createCommandEncoder({ label: 'kth largest magnitude' });
    // Only the threshold is wanted: no tie-break passes, and k = n selects the minimum
    // (encodeTopKMagnitude would short-cut it to "keep everything").
    encodeStep(device, encoder, table, [0, SELECT_OP.init, 0, 0, 0, k, elementCount, 0]);
    encodePasses(device, encoder, values, null, elementCount, table, 0, false, opts);
    device.queue.submit([encoder.finish()]);
    return floatFromBits((await readCut(device, table, 0)).thresholdBits);
  } finally {
    table.destroy();
  }
}

export const magnitudeSelectKernel = { name: 'magnitude-select', cpu: topKMagnitudeCut, gpu: encodeTopKMagnitude } as const;
