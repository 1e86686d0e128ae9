/**
 * TIES in WebAssembly SIMD (hand-written WAT): the passes of tiesMerge (task-vector/ties.cpu.ts),
 * bit for bit on finite inputs, over chunks the caller copies into the module's memory.
 *
 *   window(x, b, n, lo, hi, shift, hist) → count
 *     over τ_j = x_j − b_j (f32), key_j = bits(τ_j) & 0x7fffffff: returns how many keys are
 *     above hi and adds each key in [lo, hi] to hist[(key − lo) >> shift] (u32 bins).
 *
 *   window_count(x, b, n, lo, hi, hist) → count: the same for a window of one bin, in
 *     vectors (hist[0] gains the count in [lo, hi]).
 *
 *   sample(x, b, n, keys, hist): stores the n keys of x − b at keys, counts each into hist[key >> 15].
 *
 *   merge_N(n4, vote, λ, normalize, speculative, params, xs, stride, b, out, records, list) → count
 *     N models, x_m at xs + m·stride, row m of params (ROW): weight, hi, ties, loExclusive,
 *     above. c_m = w_m·τ_m where key > hi, or (exact pass) key == hi while the row's ties
 *     last, in index order (the row keeps the count for the next chunk); else +0. Then per
 *     element: the vote Σ c_m ('sum', vote 0) or Σ sign(c_m) ('count', vote 1) from +0;
 *     elected − iff the vote is < 0; num = Σ agreeing c_m, den = Σ agreeing w_m (agreeing:
 *     non-zero with the elected sign); merged = num / (den, or 1 when 0) when normalize,
 *     else num; out = b + λ·merged.
 *     Speculative pass: keys in (loExclusive, hi] are a model's window; an element with
 *     such a key in any model is appended to the record columns at `records` (index, then
 *     each x_m, then b, one column every TIES_CHUNK floats) and its output here is to be
 *     rewritten; the keys above hi are counted into the row's `above`; returns the records.
 *     The main loop decides four elements without a branch; the few vectors that hold a
 *     tie (exact) or a window key (speculative) are listed at `list` and redone after it.
 *     Each main loop (per pass kind, vote and normalize flag) and each redo is a function of
 *     its own, so none reads a flag per vector and each gets the registers to itself.
 *     n4 is a multiple of 4 (the caller zero-pads the chunk; lanes are independent, a tie
 *     counted in the pad lies past the tensor, and records of pad lanes are dropped).
 *
 * Every operation is IEEE f32 per lane as the twin's f32 stores round it; the masked
 * sums add +0 where the twin adds c·0 or w·0, which leaves every sum the same (a sum
 * starting at +0 never reaches −0). Addresses are byte offsets into the imported memory.
 * tools/build-wasm.mjs assembles this text with wabt into ties-fast.wasm.gen.ts.
 * Pure module: strings only.
 */

const lanes = [0, 1, 2, 3];

/** The keys of four elements at $i: bits(x − b) & 0x7fffffff, and of one. */
const VECTOR_KEY = `(v128.and (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)
        (f32x4.sub (v128.load align=4 (i32.add (local.get $x) (local.get $i))) (v128.load align=4 (i32.add (local.get $b) (local.get $i)))))`;
const SCALAR_KEY = `(i32.and (i32.const 0x7fffffff) (i32.reinterpret_f32
        (f32.sub (f32.load align=4 (i32.add (local.get $x) (local.get $i))) (f32.load align=4 (i32.add (local.get $b) (local.get $i))))))`;

/** A window pass's bounds as vectors, and the byte ends of its four-wide and one-wide loops. */
const WINDOW_BOUNDS = `
    (local.set $vlo (i32x4.splat (local.get $lo)))
    (local.set $vhi (i32x4.splat (local.get $hi)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))`;

/** The sum of an i32x4 local's lanes. */
const laneSum = (name: string) => `(i32.add (i32.add (i32x4.extract_lane 0 (local.get $${name})) (i32x4.extract_lane 1 (local.get $${name})))
        (i32.add (i32x4.extract_lane 2 (local.get $${name})) (i32x4.extract_lane 3 (local.get $${name}))))`;

/** A key's bin when lo ≤ key ≤ hi: hist[(key − lo) >> shift] += 1. */
const COUNT_INTO_BIN = `
            (local.set $at (i32.add (local.get $hist) (i32.shl (i32.shr_u (i32.sub (local.get $k) (local.get $lo)) (local.get $shift)) (i32.const 2))))
            (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))`;

/** The window handling of one lane of $key: count it into its bin when lo ≤ key ≤ hi. */
function windowLane(lane: number): string {
  return `
        (local.set $k (i32x4.extract_lane ${lane} (local.get $key)))
        (if (i32.and (i32.ge_s (local.get $k) (local.get $lo)) (i32.le_s (local.get $k) (local.get $hi)))
          (then${COUNT_INTO_BIN}))`;
}

/**
 * A window pass's loops: four keys at a time ($key, with $gt above hi counted into $acc,
 * then `inside4`), then one at a time ($k counted into $above, else `inside1` when ≥ lo).
 */
function windowLoops(inside4: string, inside1: string): string {
  return `
    (block $done4 (loop $turn4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $key ${VECTOR_KEY})
      (local.set $gt (i32x4.gt_s (local.get $key) (local.get $vhi)))
      (local.set $acc (i32x4.sub (local.get $acc) (local.get $gt)))${inside4}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn4)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $k ${SCALAR_KEY})
      (if (i32.gt_s (local.get $k) (local.get $hi))
        (then (local.set $above (i32.add (local.get $above) (i32.const 1))))
        (else (if (i32.ge_s (local.get $k) (local.get $lo))
          (then${inside1}))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $turn1)))`;
}

function windowFunction(): string {
  const inside4 = `
      (if (v128.any_true (v128.andnot (i32x4.ge_s (local.get $key) (local.get $vlo)) (local.get $gt)))
        (then${lanes.map(windowLane).join('')}))`;
  return `
  (func (export "window")
    (param $x i32) (param $b i32) (param $n i32) (param $lo i32) (param $hi i32) (param $shift i32) (param $hist i32) (result i32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $k i32) (local $at i32) (local $above i32)
    (local $key v128) (local $gt v128) (local $vlo v128) (local $vhi v128) (local $acc v128)${WINDOW_BOUNDS}${windowLoops(inside4, COUNT_INTO_BIN)}
    (i32.add (local.get $above)
      ${laneSum('acc')}))`;
}

/**
 * window_count: the window pass for a window of one bin (a single key, or a window whose
 * shift puts it in one bin: the cut's key when many tie there), counted in vectors: returns
 * how many keys are above hi and adds the count in [lo, hi] to hist[0].
 */
function windowCountFunction(): string {
  const inside4 = `
      (local.set $in (i32x4.sub (local.get $in) (v128.andnot (i32x4.ge_s (local.get $key) (local.get $vlo)) (local.get $gt))))`;
  return `
  (func (export "window_count")
    (param $x i32) (param $b i32) (param $n i32) (param $lo i32) (param $hi i32) (param $hist i32) (result i32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $k i32) (local $above i32) (local $inside i32)
    (local $key v128) (local $gt v128) (local $vlo v128) (local $vhi v128) (local $acc v128) (local $in v128)${WINDOW_BOUNDS}${windowLoops(inside4, ' (local.set $inside (i32.add (local.get $inside) (i32.const 1)))')}
    (i32.store (local.get $hist) (i32.add (i32.load (local.get $hist)) (i32.add (local.get $inside) ${laneSum('in')})))
    (i32.add (local.get $above) ${laneSum('acc')}))`;
}

/** The sample of ties-select.ts: keys of x − b stored at `keys`, each counted into hist[key >> 15]. */
function sampleFunction(): string {
  const count = (key: string) => `
        (local.set $at (i32.add (local.get $hist) (i32.shl (i32.shr_u ${key} (i32.const 15)) (i32.const 2))))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))`;
  return `
  (func (export "sample") (param $x i32) (param $b i32) (param $n i32) (param $keys i32) (param $hist i32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $at i32) (local $k i32) (local $key v128)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4 (loop $turn4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $key ${VECTOR_KEY})
      (v128.store align=4 (i32.add (local.get $keys) (local.get $i)) (local.get $key))${lanes.map((l) => count(`(i32x4.extract_lane ${l} (local.get $key))`)).join('')}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn4)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $k ${SCALAR_KEY})
      (i32.store (i32.add (local.get $keys) (local.get $i)) (local.get $k))${count('(local.get $k)')}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $turn1))))`;
}

/** Models one merge call takes; more go to the TypeScript twin. The studio loads 2–8 checkpoints. */
export const TIES_WASM_MAX_MODELS = 8;

/** Floats per chunk the caller copies in; each record column holds one chunk's worth. */
export const TIES_CHUNK = 65536;
const RECORD_COLUMN_BYTES = 4 * TIES_CHUNK;

/** Bytes per model row of the params table, and each field's offset. */
export const TIES_PARAM_STRIDE = 32;
export const ROW = { weight: 0, hi: 4, ties: 8, loExclusive: 12, above: 16 } as const;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const ZERO = '(v128.const f32x4 0 0 0 0)';
const ABS_MASK = '(v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)';
const get = (name: string) => `(local.get $${name})`;
const rowField = (m: number, field: number) => `(i32.add (local.get $params) (i32.const ${m * TIES_PARAM_STRIDE + field}))`;
const at = (ptr: string) => `(i32.add ${ptr} (local.get $i))`;

/** How one vector's models are trimmed: the branch-free main loops, or the redo of a listed vector with its ties. */
type Trim = 'speculative' | 'exact' | 'ties';

/** Model m's tie in lane `lane` (its key equal to hi) is kept while its ties last, in lane (index) order. */
function tieLane(m: number, lane: number): string {
  return `
      (if (i32.and (i32.ne (i32x4.extract_lane ${lane} (local.get $special)) (i32.const 0)) (i32.gt_s ${get(`ties${m}`)} (i32.const 0)))
        (then
          (local.set $keep${m} (i32x4.replace_lane ${lane} ${get(`keep${m}`)} (i32.const -1)))
          (local.set $ties${m} (i32.sub ${get(`ties${m}`)} (i32.const 1)))))`;
}

function trimModel(m: number, trim: Trim): string {
  const load = `
      (local.set $tau (f32x4.sub (v128.load align=4 ${at(get(`x${m}`))}) (local.get $vb)))
      (local.set $key (v128.and ${ABS_MASK} (local.get $tau)))`;
  const product = `(f32x4.mul ${get(`vw${m}`)} (local.get $tau))`;
  if (trim === 'ties') {
    // The redo of a listed vector: the keep mask stays open for the ties, then masks c.
    return `${load}
      (local.set $keep${m} (i32x4.gt_s (local.get $key) ${get(`vhi${m}`)}))
      (local.set $special (i32x4.eq (local.get $key) ${get(`vhi${m}`)}))${range(4).map((l) => tieLane(m, l)).join('')}
      (local.set $c${m} (v128.and ${get(`keep${m}`)} ${product}))`;
  }
  // The main loops: the keep mask dies at once (fewer live vectors than models × masks).
  const tally =
    trim === 'speculative'
      ? `
      (local.set $special (v128.or (local.get $special) (v128.andnot (i32x4.gt_s (local.get $key) ${get(`vlo${m}`)}) (local.get $keep))))
      (local.set $acc${m} (i32x4.sub ${get(`acc${m}`)} (local.get $keep)))`
      : `
      (local.set $special (v128.or (local.get $special) (i32x4.eq (local.get $key) ${get(`vhi${m}`)})))`;
  return `${load}
      (local.set $keep (i32x4.gt_s (local.get $key) ${get(`vhi${m}`)}))${tally}
      (local.set $c${m} (v128.and (local.get $keep) ${product}))`;
}

/** The vote and normalize flags: fixed in a specialised loop, else read from the parameters. */
interface Flags {
  vote: 'sum' | 'count' | null;
  normalize: boolean | null;
}

const RUNTIME_FLAGS: Flags = { vote: null, normalize: null };

/** Four elements from the trimmed contributions: vote, disjoint merge, out. */
function combine(count: number, flags: Flags = RUNTIME_FLAGS): string {
  const ms = range(count);
  const sign = (m: number) => `(v128.or
          (v128.and (f32x4.gt ${get(`c${m}`)} ${ZERO}) (v128.const f32x4 1 1 1 1))
          (v128.and (f32x4.lt ${get(`c${m}`)} ${ZERO}) (v128.const f32x4 -1 -1 -1 -1)))`;
  // Sums start at their first term, not at +0: a vote of −0 (every term ±0) has no agreeing
  // term whichever sign it elects, and a masked first term is +0 or non-zero, as +0 + it is.
  const sum = (terms: string[]) => terms.slice(1).reduce((acc, t) => `(f32x4.add ${acc} ${t})`, terms[0]!);
  const sumVote = sum(ms.map((m) => get(`c${m}`)));
  const countVote = sum(ms.map(sign));
  // Agreeing: c non-zero with the elected sign, i.e. c with its sign flipped where − won is > 0.
  const agreeing = ms
    .map((m) => `\n      (local.set $agree${m} (f32x4.gt (v128.xor ${get(`c${m}`)} (local.get $flip)) ${ZERO}))`)
    .join('');
  const num = sum(ms.map((m) => `(v128.and ${get(`agree${m}`)} ${get(`c${m}`)})`));
  const den = sum(ms.map((m) => `(v128.and ${get(`agree${m}`)} ${get(`vw${m}`)})`));
  const vote =
    flags.vote === null
      ? `(if (local.get $vote)
        (then (local.set $score ${countVote}))
        (else (local.set $score ${sumVote})))`
      : `(local.set $score ${flags.vote === 'count' ? countVote : sumVote})`;
  const quotient = `(local.set $merged (f32x4.div (local.get $num)
          (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $den) (f32x4.eq (local.get $den) ${ZERO}))))`;
  const normalize = flags.normalize === null ? `(if (local.get $normalize)
        (then ${quotient}))` : flags.normalize ? quotient : '';
  return `
      ${vote}
      (local.set $flip (v128.and (local.get $score) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))${agreeing}
      (local.set $num ${num})
      (local.set $den ${den})
      (local.set $merged (local.get $num))
      ${normalize}
      (v128.store align=4 ${at('(local.get $out)')} (f32x4.add (local.get $vb) (f32x4.mul (local.get $vlam) (local.get $merged))))`;
}

/** Parameters of every per-pass function of a merge (the export passes its own on). */
const PASS_PARAMS = '(param $end i32) (param $vote i32) (param $lambda f32) (param $normalize i32) (param $params i32) (param $xs i32) (param $stride i32) (param $b i32) (param $out i32) (param $list i32) (param $listed i32)';
const PASS_ARGS = ['end', 'vote', 'lambda', 'normalize', 'params', 'xs', 'stride', 'b', 'out', 'list', 'listed'].map(get).join(' ');

/** The locals and row loads of a per-pass function of `count` models. */
function prologue(count: number): string {
  const ms = range(count);
  const perModel = (names: string[], type: string) => ms.flatMap((m) => names.map((n) => `(local $${n}${m} ${type})`)).join(' ');
  const loads = ms
    .map(
      (m) => `
    (local.set $x${m} (i32.add (local.get $xs) (i32.mul (local.get $stride) (i32.const ${m}))))
    (local.set $vw${m} (v128.load32_splat align=4 ${rowField(m, ROW.weight)}))
    (local.set $vhi${m} (v128.load32_splat align=4 ${rowField(m, ROW.hi)}))
    (local.set $vlo${m} (v128.load32_splat align=4 ${rowField(m, ROW.loExclusive)}))
    (local.set $ties${m} (i32.load ${rowField(m, ROW.ties)}))`,
    )
    .join('');
  return `
    (local $i i32) (local $l i32)
    (local $vb v128) (local $tau v128) (local $key v128) (local $keep v128) (local $special v128)
    (local $score v128) (local $flip v128) (local $num v128) (local $den v128) (local $merged v128) (local $vlam v128)
    ${perModel(['x', 'ties'], 'i32')} ${perModel(['vw', 'vhi', 'vlo', 'acc', 'keep', 'c', 'agree'], 'v128')}${loads}
    (local.set $vlam (f32x4.splat (local.get $lambda)))`;
}

const flagName = (f: Flags) => `${f.vote}_${f.normalize ? 'normalize' : 'plain'}`;

/**
 * The branch-free main loop, a function per trim and flags (each its own registers): every
 * vector decided as if it held no tie and no window key; those that do are listed. Returns
 * the listed count; the speculative loop adds its counts above hi to the rows.
 */
function mainLoop(count: number, trim: 'speculative' | 'exact', flags: Flags): string {
  const storeAbove = range(count)
    .map(
      (m) => `
    (i32.store ${rowField(m, ROW.above)} (i32.add (i32.load ${rowField(m, ROW.above)})
      (i32.add (i32.add (i32x4.extract_lane 0 ${get(`acc${m}`)}) (i32x4.extract_lane 1 ${get(`acc${m}`)}))
        (i32.add (i32x4.extract_lane 2 ${get(`acc${m}`)}) (i32x4.extract_lane 3 ${get(`acc${m}`)})))))`,
    )
    .join('');
  return `
  (func $${trim}_${count}_${flagName(flags)} ${PASS_PARAMS} (result i32)${prologue(count)}
    (block $done (loop $turn
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $vb (v128.load align=4 ${at('(local.get $b)')}))
      (local.set $special ${ZERO})${range(count)
        .map((m) => trimModel(m, trim))
        .join('')}${combine(count, flags)}
      (i32.store (i32.add (local.get $list) (i32.shl (local.get $listed) (i32.const 2))) (local.get $i))
      (local.set $listed (i32.add (local.get $listed) (v128.any_true (local.get $special))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn)))${trim === 'speculative' ? storeAbove : ''}
    (local.get $listed))`;
}

const ALL_FLAGS: Flags[] = (['sum', 'count'] as const).flatMap((vote) => [true, false].map((normalize) => ({ vote, normalize })));

/** The call of the main loop for the call's vote and normalize flags (no flag read per vector). */
function specialisedLoops(count: number, trim: 'speculative' | 'exact'): string {
  const call = (f: Flags) => `(local.set $listed (call $${trim}_${count}_${flagName(f)} ${PASS_ARGS}))`;
  const byNormalize = (vote: 'sum' | 'count') => `
      (if (local.get $normalize)
        (then ${call({ vote, normalize: true })})
        (else ${call({ vote, normalize: false })}))`;
  return `
      (if (local.get $vote)
        (then${byNormalize('count')})
        (else${byNormalize('sum')}))`;
}

/** The listed vectors of an exact pass again, their ties kept in order; the rows keep the ties left. */
function tiesFunction(count: number): string {
  const ms = range(count);
  const redo = `
        (local.set $vb (v128.load align=4 ${at('(local.get $b)')}))${ms.map((m) => trimModel(m, 'ties')).join('')}${combine(count)}`;
  const storeTies = ms.map((m) => `\n    (i32.store ${rowField(m, ROW.ties)} ${get(`ties${m}`)})`).join('');
  return `
  (func $ties_${count} ${PASS_PARAMS}${prologue(count)}${overListed(redo)}${storeTies})`;
}

/** Over the listed vectors in order, with $i at each. */
function overListed(body: string): string {
  return `
      (local.set $l (i32.const 0))
      (block $listed_done (loop $listed_turn
        (br_if $listed_done (i32.ge_u (local.get $l) (local.get $listed)))
        (local.set $i (i32.load (i32.add (local.get $list) (i32.shl (local.get $l) (i32.const 2)))))${body}
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br $listed_turn)))`;
}

/**
 * Lane `lane` of the vector at $i: its record is written at the next slot, which only a lane
 * with a window key claims (the slot advances by 4 bytes under the lane's mask, no branch).
 */
function deferLane(count: number, lane: number): string {
  const column = (c: number) => `(i32.add (local.get $records) (i32.add (local.get $rec) (i32.const ${c * RECORD_COLUMN_BYTES})))`;
  return `
        (i32.store ${column(0)} (i32.add (i32.shr_u (local.get $i) (i32.const 2)) (i32.const ${lane})))${range(count)
          .map((m) => `\n        (f32.store ${column(1 + m)} (f32x4.extract_lane ${lane} ${get(`v${m}`)}))`)
          .join('')}
        (f32.store ${column(count + 1)} (f32x4.extract_lane ${lane} (local.get $vb)))
        (local.set $rec (i32.add (local.get $rec) (i32.and (i32x4.extract_lane ${lane} (local.get $special)) (i32.const 4))))`;
}

/** The records of the listed vectors of a speculative pass: a function of its own, so the main loops' registers stay theirs. */
function deferFunction(count: number): string {
  const ms = range(count);
  const locals = ms.map((m) => `(local $x${m} i32) (local $v${m} v128) (local $vlo${m} v128) (local $vhi${m} v128)`).join(' ');
  const setup = ms
    .map(
      (m) => `
    (local.set $x${m} (i32.add (local.get $xs) (i32.mul (local.get $stride) (i32.const ${m}))))
    (local.set $vhi${m} (v128.load32_splat align=4 ${rowField(m, ROW.hi)}))
    (local.set $vlo${m} (v128.load32_splat align=4 ${rowField(m, ROW.loExclusive)}))`,
    )
    .join('');
  const mask = ms
    .map(
      (m) => `
        (local.set $v${m} (v128.load align=4 ${at(get(`x${m}`))}))
        (local.set $key (v128.and ${ABS_MASK} (f32x4.sub (local.get $v${m}) (local.get $vb))))
        (local.set $special (v128.or (local.get $special)
          (v128.andnot (i32x4.gt_s (local.get $key) ${get(`vlo${m}`)}) (i32x4.gt_s (local.get $key) ${get(`vhi${m}`)}))))`,
    )
    .join('');
  return `
  (func $defer_${count}
    (param $listed i32) (param $params i32) (param $xs i32) (param $stride i32) (param $b i32) (param $records i32) (param $list i32) (result i32)
    (local $i i32) (local $l i32) (local $rec i32) (local $vb v128) (local $key v128) (local $special v128) ${locals}${setup}${overListed(`
        (local.set $vb (v128.load align=4 ${at('(local.get $b)')}))
        (local.set $special ${ZERO})${mask}${range(4)
          .map((l) => deferLane(count, l))
          .join('')}`)}
    (local.get $rec))`;
}

function mergeFunction(count: number): string {
  const loops = (['speculative', 'exact'] as const).flatMap((trim) => ALL_FLAGS.map((f) => mainLoop(count, trim, f))).join('');
  return `${loops}${tiesFunction(count)}${deferFunction(count)}
  (func (export "merge_${count}")
    (param $n4 i32) (param $vote i32) (param $lambda f32) (param $normalize i32) (param $speculative i32)
    (param $params i32) (param $xs i32) (param $stride i32) (param $b i32) (param $out i32) (param $records i32) (param $list i32) (result i32)
    (local $end i32) (local $listed i32) (local $rec i32)
    (local.set $end (i32.shl (local.get $n4) (i32.const 2)))
    (if (local.get $speculative)
      (then${specialisedLoops(count, 'speculative')}
        (local.set $rec (call $defer_${count} (local.get $listed) (local.get $params) (local.get $xs) (local.get $stride) (local.get $b) (local.get $records) (local.get $list))))
      (else${specialisedLoops(count, 'exact')}
        (call $ties_${count} ${PASS_ARGS})))
    (i32.shr_u (local.get $rec) (i32.const 2)))
`;
}

/** The module's text; the memory is imported as env.memory (the kernel's own, ties-fast.wasm.ts). */
export function tiesFastWat(): string {
  return `
(module
  (import "env" "memory" (memory 0))${windowFunction()}${windowCountFunction()}${sampleFunction()}${range(TIES_WASM_MAX_MODELS).map((m) => mergeFunction(m + 1)).join('')})
`;
}
