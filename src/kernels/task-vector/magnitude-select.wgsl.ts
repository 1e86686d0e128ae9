/**
 * Shaders of the GPU top-k magnitude select, twin of magnitude-select.cpu.ts.
 *
 * The whole select stays on the GPU (nothing is read back): a histogram pass counts keys
 * into a 2048-bin global histogram (workgroup-local atomics first, one global atomicAdd
 * per non-empty bin per workgroup), then a one-thread step kernel picks the bucket,
 * narrows the cut's state and clears the histogram for the next pass. Each model's cut
 * lives in its own slot of a small `cuts` buffer that the merge kernels read.
 *
 * Cut slot layout (u32 × CUT_STRIDE), also read by task-vector.wgsl.ts:
 *   remaining: rank still to find inside the current bucket
 *   prefix:    magnitude key bits decided so far
 *   index_prefix: index bits decided so far (tie-break)
 *   tie_needed: 1 while the tie-break passes must run (ties straddle the cut)
 *   threshold_bits, tie_end: the cut (see MagnitudeCut)
 */
import { HISTOGRAM_BINS } from './magnitude-select.cpu';

export const CUT_STRIDE = 8;
export const CUT_FIELD = { remaining: 0, prefix: 1, indexPrefix: 2, tieNeeded: 3, thresholdBits: 4, tieEnd: 5 } as const;

/** Threads per histogram workgroup and elements each thread counts: one workgroup covers a tile. */
export const HISTOGRAM_WORKGROUP = 256;
export const HISTOGRAM_PER_THREAD = 16;
export const HISTOGRAM_TILE = HISTOGRAM_WORKGROUP * HISTOGRAM_PER_THREAD;

export const HISTOGRAM_UNIFORM_BYTES = 32;
export const SELECT_STEP_UNIFORM_BYTES = 32;

/** Step kernel operations (SelectStepUniforms.op). */
export const SELECT_OP = { init: 0, magnitude: 1, index: 2 } as const;

/** Histogram mode (HistogramUniforms.mode): key = |x| bits, or the index of a tie. */
export const HISTOGRAM_MODE = { magnitude: 0, tieIndex: 1 } as const;

/** Histogram of magnitude keys of values (or of values − base when hasBase). */
export function magnitudeHistogramWgsl(hasBase: boolean): string {
  const f = CUT_FIELD;
  return /* wgsl */ `
struct HistogramUniforms {
  n: u32,             // elements in this binding (chunk)
  chunk_start: u32,   // tensor-local index of element 0 of this binding
  slot: u32,          // cut slot
  mode: u32,          // 0: key = |x| bits; 1: key = index, counting only ties (|x| bits == threshold)
  shift: u32,
  bin_mask: u32,
  filter_shift: u32,  // keys count only when (key >> filter_shift) == (prefix >> filter_shift)
  use_filter: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
${hasBase ? '@group(0) @binding(1) var<storage, read> base_values: array<f32>;' : ''}
@group(0) @binding(${hasBase ? 2 : 1}) var<storage, read_write> histogram: array<atomic<u32>>;
@group(0) @binding(${hasBase ? 3 : 2}) var<storage, read> cuts: array<u32>;
@group(0) @binding(${hasBase ? 4 : 3}) var<uniform> params: HistogramUniforms;

var<workgroup> local_hist: array<atomic<u32>, ${HISTOGRAM_BINS}>;

@compute @workgroup_size(${HISTOGRAM_WORKGROUP})
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) num_groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let s = params.slot * ${CUT_STRIDE}u;
  let by_index = params.mode == 1u;
  // Tie passes are always encoded; they count nothing unless the ties straddle the cut.
  let counting = !by_index || cuts[s + ${f.tieNeeded}u] != 0u;
  let prefix = select(cuts[s + ${f.prefix}u], cuts[s + ${f.indexPrefix}u], by_index);
  let tie_bits = cuts[s + ${f.thresholdBits}u];
  let tile_start = (wid.x + wid.y * num_groups.x) * ${HISTOGRAM_TILE}u;
  if (counting) {
    for (var r = 0u; r < ${HISTOGRAM_PER_THREAD}u; r++) {
      let i = tile_start + r * ${HISTOGRAM_WORKGROUP}u + lid;
      if (i < params.n) {
        let bits = bitcast<u32>(values[i]${hasBase ? ' - base_values[i]' : ''}) & 0x7fffffffu;
        var key = bits;
        var counted = true;
        if (by_index) {
          key = params.chunk_start + i;
          counted = bits == tie_bits;
        }
        if (counted && (params.use_filter == 0u || (key >> params.filter_shift) == (prefix >> params.filter_shift))) {
          atomicAdd(&local_hist[(key >> params.shift) & params.bin_mask], 1u);
        }
      }
    }
  }
  workgroupBarrier();
  for (var b = lid; b < ${HISTOGRAM_BINS}u; b += ${HISTOGRAM_WORKGROUP}u) {
    let c = atomicLoad(&local_hist[b]);
    if (c != 0u) {
      atomicAdd(&histogram[b], c);
    }
  }
}
`;
}

/** One thread: init a cut slot, or pick the bucket of one pass and clear the histogram. */
export function selectStepWgsl(): string {
  const f = CUT_FIELD;
  return /* wgsl */ `
struct SelectStepUniforms {
  slot: u32,
  op: u32,            // 0 init, 1 magnitude pass (largest first), 2 tie index pass (smallest first)
  shift: u32,
  bins: u32,
  last: u32,          // last pass of its kind
  k: u32,             // init: rank to find
  n: u32,             // init: tensor length (tie_end when every tie is kept)
  fixed: u32,         // init: 1 when the cut is known on the host (k = 0 or k ≥ n)
}

@group(0) @binding(0) var<storage, read_write> histogram: array<u32>;
@group(0) @binding(1) var<storage, read_write> cuts: array<u32>;
@group(0) @binding(2) var<uniform> params: SelectStepUniforms;

fn clear_histogram() {
  for (var b = 0u; b < ${HISTOGRAM_BINS}u; b++) {
    histogram[b] = 0u;
  }
}

@compute @workgroup_size(1)
fn main() {
  let s = params.slot * ${CUT_STRIDE}u;
  if (params.op == 0u) {
    cuts[s + ${f.remaining}u] = params.k;
    cuts[s + ${f.prefix}u] = 0u;
    cuts[s + ${f.indexPrefix}u] = 0u;
    cuts[s + ${f.tieNeeded}u] = 0u;
    if (params.fixed != 0u) {
      // k = 0 keeps nothing (threshold above every key); k ≥ n keeps everything.
      cuts[s + ${f.thresholdBits}u] = select(0xffffffffu, 0u, params.k != 0u);
      cuts[s + ${f.tieEnd}u] = select(0u, params.n, params.k != 0u);
    } else {
      cuts[s + ${f.tieEnd}u] = params.n;
    }
    clear_histogram();
    return;
  }
  if (params.op == 2u && cuts[s + ${f.tieNeeded}u] == 0u) {
    return; // the tie pass counted nothing; the histogram is still clear
  }
  let remaining = cuts[s + ${f.remaining}u];
  var cum = 0u;
  var chosen = 0u;
  if (params.op == 1u) {
    for (var b = params.bins; b > 0u; b--) {
      let c = histogram[b - 1u];
      if (cum + c >= remaining) {
        chosen = b - 1u;
        break;
      }
      cum += c;
    }
  } else {
    for (var b = 0u; b < params.bins; b++) {
      let c = histogram[b];
      if (cum + c >= remaining) {
        chosen = b;
        break;
      }
      cum += c;
    }
  }
  let in_bucket = remaining - cum;
  let bucket_count = histogram[chosen];
  cuts[s + ${f.remaining}u] = in_bucket;
  if (params.op == 1u) {
    let prefix = cuts[s + ${f.prefix}u] | (chosen << params.shift);
    cuts[s + ${f.prefix}u] = prefix;
    if (params.last != 0u) {
      cuts[s + ${f.thresholdBits}u] = prefix;
      // tie_end stays n when every tie fits; otherwise the index passes find it.
      cuts[s + ${f.tieNeeded}u] = select(1u, 0u, in_bucket == bucket_count);
    }
  } else {
    let index_prefix = cuts[s + ${f.indexPrefix}u] | (chosen << params.shift);
    cuts[s + ${f.indexPrefix}u] = index_prefix;
    if (params.last != 0u) {
      cuts[s + ${f.tieEnd}u] = index_prefix + 1u;
      cuts[s + ${f.tieNeeded}u] = 0u;
    }
  }
  clear_histogram();
}
`;
}
