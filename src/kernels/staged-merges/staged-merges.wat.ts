/**
 * The elementwise and reduction loops of DARE linear, SLERP and model stock in WebAssembly
 * SIMD (hand-written WAT), for blocks staged into the module's own memory
 * (staged-merges.wasm.ts copies the inputs in and the result out). Each export is the
 * twin of a TypeScript loop, bit for bit on finite inputs:
 *
 *   dare_term_set / dare_term_add(acc, n, first, p, b, x), then dare_finish(out, n, b, acc, s):
 *       task-vector/dare.cpu.ts with consensus 'none', one model per term pass:
 *       c_i = w_i·((x_i − b)·scale_i) where model i's keep bit is set, else +0 (bits cleared),
 *       acc = c_0 + c_1 + … (left to right), out = b + s·acc, all f32
 *   dare_mask(dst, n, first, p):  the int32 keep masks (all ones / zero) of the model at p
 *   dare_norms_l1 / dare_norms_l2(acc, n, first, p, b, x):  task-vector/dare.cpu.ts's norm
 *       sums for its 'l1' / 'l2' rescale: τ = x − b (f32), τ̃ = τ where the keep bit is set,
 *       else +0; acc[0] += |τ|, acc[1] += |τ̃| (l2: squares), f64, in SUM_LANES lanes
 *   stats_N(acc, n, b, x0..x{N−1}):  dot-norms.cpu.ts against a base, for all pairs at once:
 *       t_i = x_i − b in f64, acc = [‖t_0‖², …, ‖t_{N−1}‖², t_0·t_1, t_0·t_2, …, t_1·t_2, …]
 *   stats_plain(acc, n, x, y):  dot-norms.cpu.ts without a base, acc = [‖x‖², ‖y‖², x·y]
 *   kinship(acc, n, c, x, y) / kinship_plain(acc, n, x, y):  kinship.cpu.ts's six moments,
 *       a = x − c, b = y − c (plain: a = x, b = y), d = x − y in f64,
 *       acc = [Σa, Σb, Σab, Σa², Σb², Σd²]
 *   scale_set(out, n, x, w):  out = w·x;   scale_add(out, n, x, w):  out = out + w·x  (f32)
 *   weighted_N(out, n, wp, x0..x{N−1}):  scale_set, then scale_add for x1, x2, …, fused
 *       into one pass (N = 2 … STAGED_MAX_MODELS + 1)
 *
 * The hash is rng.cpu.ts's randomU32Keyed: two lowbias32 rounds, u32 multiply, xor and
 * logical shift, four counters per i32x4 (counter = first + element index, wrapping).
 * A model's DARE parameters sit in a block at p (DARE_PARAM).
 * Each f64 sum runs in SUM_LANES (4) lanes, as the TypeScript loops add them: element j of a
 * chunk goes to lane j mod 4, each lane in element order, two f64x2 vectors per sum (lanes 0 1
 * from an f32x4's low half, 2 3 from its high half), continuing from the 4 values per sum stored
 * in acc (so a tensor can be summed block by block); the caller adds the lanes,
 * (l0 + l1) + (l2 + l3) (chunked-call.ts laneTotal). Four lanes break the add chains whose
 * latency bound a single sum. The sums take n a multiple of 4: the caller pads the last
 * block with +0, which leaves every lane's bits as they are (a lane starts at +0, so it is
 * never −0).
 * wasm SIMD has no fused multiply-add, so nothing is contracted. (Where NaNs meet, which
 * payload survives may differ from the twin: NaN stays NaN.)
 * Addresses are byte offsets into the imported memory; n counts elements.
 * Pure module: strings only.
 */
import { RNG_MIX_M1, RNG_MIX_M2 } from '../rng/rng.cpu';
import { SUM_LANES } from '../threads/chunked-call';

export { SUM_LANES };

/** Models the stats_N exports take (weighted_N: one more, the base); more go to the TypeScript loops. */
export const STAGED_MAX_MODELS = 8;


// The hash's multipliers as the int32 constants WAT and Int32Array take.
const M1 = RNG_MIX_M1 | 0;
const M2 = RNG_MIX_M2 | 0;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The loop skeleton: with unroll 2, two vectors of 4 per turn while 8 or more elements remain
 * (halving the per-turn overhead: the branch and the engine's interrupt check), then vectors
 * of 4 while 4 or more remain, then single elements ($i in bytes).
 */
function loops(vectorBody: string, scalarBody: string, unroll: 1 | 2 = 1): string {
  const next = (bytes: number) => `\n      (local.set $i (i32.add (local.get $i) (i32.const ${bytes})))`;
  const pairs =
    unroll === 2
      ? `
    (block $done8 (loop $turn8
      (br_if $done8 (i32.ge_u (i32.add (local.get $i) (i32.const 16)) (local.get $end4)))${vectorBody}${next(16)}${vectorBody}${next(16)}
      (br $turn8)))`
      : '';
  return `
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))${pairs}
    (block $done4 (loop $turn4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))${vectorBody}${next(16)}
      (br $turn4)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))${scalarBody}${next(4)}
      (br $turn1)))`;
}

const vload = (ptr: string) => `(v128.load align=4 (i32.add (local.get ${ptr}) (local.get $i)))`;
const sload = (ptr: string) => `(f32.load align=4 (i32.add (local.get ${ptr}) (local.get $i)))`;
const vstore = (ptr: string, value: string) => `(v128.store align=4 (i32.add (local.get ${ptr}) (local.get $i)) ${value})`;
const sstore = (ptr: string, value: string) => `(f32.store align=4 (i32.add (local.get ${ptr}) (local.get $i)) ${value})`;

/** Statements leaving randomU32Keyed(k0, k1, counter) in $h (lanes: i32x4 ops) or $sh (scalar: i32 ops). */
function hash(vector: boolean, counter: string, k0: string, k1: string): string {
  const text = hashIn(vector, counter, k0, k1);
  return vector ? text : text.replaceAll('(local.get $h)', '(local.get $sh)').replaceAll('(local.set $h', '(local.set $sh');
}

function hashIn(vector: boolean, counter: string, k0: string, k1: string): string {
  const t = vector ? 'i32x4' : 'i32';
  const shr = (bits: number) => (vector ? `(i32x4.shr_u (local.get $h) (i32.const ${bits}))` : `(i32.shr_u (local.get $h) (i32.const ${bits}))`);
  const xor = vector ? 'v128.xor' : 'i32.xor';
  const m = (k: 1 | 2) => (vector ? `(local.get $v_m${k})` : `(i32.const ${k === 1 ? M1 : M2})`);
  const mix = [
    `(local.set $h (${xor} (local.get $h) ${shr(16)}))`,
    `(local.set $h (${t}.mul (local.get $h) ${m(1)}))`,
    `(local.set $h (${xor} (local.get $h) ${shr(15)}))`,
    `(local.set $h (${t}.mul (local.get $h) ${m(2)}))`,
    `(local.set $h (${xor} (local.get $h) ${shr(16)}))`,
  ];
  return [`(local.set $h (${xor} ${counter} ${k0}))`, ...mix, `(local.set $h (${t}.add (local.get $h) ${k1}))`, ...mix].map((s) => `\n      ${s}`).join('');
}

/**
 * The DARE parameter block at $p, 16-byte lanes, each value in all four: w, scale (f32),
 * key0, key1, threshold, then the hash's multipliers M1, M2 and the counter step 4, then
 * the lane offsets 0 1 2 3 (i32). Loaded once per call: splats written in the function
 * would be recomputed inside the loop by the compiler, two instructions each, every turn.
 */
export const DARE_PARAM_BYTES = 144;
/** Byte offsets of the block's lanes. */
export const DARE_PARAM = { weight: 0, scale: 16, key0: 32, key1: 48, threshold: 64, m1: 80, m2: 96, step: 112, lanes: 128 } as const;
export const DARE_MIX = { m1: M1, m2: M2 } as const;

/** Locals and loads of the parameter block at $p that the DARE loops use. */
function dareParams(names: readonly (keyof typeof DARE_PARAM)[]): { locals: string; loads: string } {
  const scalarType = (k: string) => (k === 'weight' || k === 'scale' ? 'f32' : 'i32');
  const locals = names.map((k) => `(local $v_${k} v128) (local $s_${k} ${scalarType(k)})`).join(' ');
  const loads = names
    .map((k) => `
    (local.set $v_${k} (v128.load (i32.add (local.get $p) (i32.const ${DARE_PARAM[k]}))))
    (local.set $s_${k} (${scalarType(k)}.load (i32.add (local.get $p) (i32.const ${DARE_PARAM[k]}))))`)
    .join('');
  return { locals, loads };
}

const keepBits = (vector: boolean) =>
  vector
    ? '(i32x4.shr_s (i32x4.sub (i32x4.shr_u (local.get $h) (i32.const 8)) (local.get $v_threshold)) (i32.const 31))'
    : '(i32.shr_s (i32.sub (i32.shr_u (local.get $sh) (i32.const 8)) (local.get $s_threshold)) (i32.const 31))';

/** The counter vector of the first four elements, and the scalar counter of element $i. */
const firstCounters = '\n    (local.set $vctr (i32x4.add (i32x4.splat (local.get $first)) (local.get $v_lanes)))';
const scalarCounter = '(i32.add (local.get $first) (i32.shr_u (local.get $i) (i32.const 2)))';
const nextCounters = '\n      (local.set $vctr (i32x4.add (local.get $vctr) (local.get $v_step)))';

/**
 * One model's DARE term into acc: c = w·((x − b)·scale) where the keep bit is set, else +0;
 * dare_term_set writes acc = c, dare_term_add acc = acc + c. One model per pass keeps its
 * constants in registers.
 */
function dareTermFunction(add: boolean): string {
  const { locals, loads } = dareParams(['weight', 'scale', 'key0', 'key1', 'threshold', 'm1', 'm2', 'step', 'lanes']);
  const vectorTerm = `${hash(true, '(local.get $vctr)', '(local.get $v_key0)', '(local.get $v_key1)')}
      (local.set $c (v128.and
        (f32x4.mul (local.get $v_weight) (f32x4.mul (f32x4.sub ${vload('$x')} ${vload('$b')}) (local.get $v_scale)))
        ${keepBits(true)}))
      ${vstore('$acc', add ? `(f32x4.add ${vload('$acc')} (local.get $c))` : '(local.get $c)')}${nextCounters}`;
  const scalarTerm = `${hash(false, scalarCounter, '(local.get $s_key0)', '(local.get $s_key1)')}
      (local.set $sc (f32.reinterpret_i32 (i32.and
        (i32.reinterpret_f32 (f32.mul (local.get $s_weight) (f32.mul (f32.sub ${sload('$x')} ${sload('$b')}) (local.get $s_scale))))
        ${keepBits(false)})))
      ${sstore('$acc', add ? `(f32.add ${sload('$acc')} (local.get $sc))` : '(local.get $sc)')}`;
  return `
  (func (export "${add ? 'dare_term_add' : 'dare_term_set'}")
    (param $acc i32) (param $n i32) (param $first i32) (param $p i32) (param $b i32) (param $x i32)
    (local $i i32) (local $end i32) (local $end4 i32) (local $h v128) (local $c v128) (local $vctr v128) (local $sh i32) (local $sc f32)
    ${locals}${loads}${firstCounters}${loops(vectorTerm, scalarTerm, 2)})`;
}

/** dare_finish: out = b + s·acc (out may be acc). */
function dareFinishFunction(): string {
  const value = (vector: boolean) =>
    vector
      ? `(f32x4.add ${vload('$b')} (f32x4.mul (local.get $vs) ${vload('$acc')}))`
      : `(f32.add ${sload('$b')} (f32.mul (local.get $s) ${sload('$acc')}))`;
  return `
  (func (export "dare_finish")
    (param $out i32) (param $n i32) (param $b i32) (param $acc i32) (param $s f32)
    (local $i i32) (local $end i32) (local $end4 i32) (local $vs v128)
    (local.set $vs (f32x4.splat (local.get $s)))${loops(`
      ${vstore('$out', value(true))}`, `
      ${sstore('$out', value(false))}`)})`;
}

function dareMaskFunction(): string {
  const { locals, loads } = dareParams(['key0', 'key1', 'threshold', 'm1', 'm2', 'step', 'lanes']);
  return `
  (func (export "dare_mask")
    (param $dst i32) (param $n i32) (param $first i32) (param $p i32)
    (local $i i32) (local $end i32) (local $end4 i32) (local $h v128) (local $vctr v128) (local $sh i32)
    ${locals}${loads}${firstCounters}${loops(
      `${hash(true, '(local.get $vctr)', '(local.get $v_key0)', '(local.get $v_key1)')}
      ${vstore('$dst', keepBits(true))}${nextCounters}`,
      `${hash(false, scalarCounter, '(local.get $s_key0)', '(local.get $s_key1)')}
      (i32.store (i32.add (local.get $dst) (local.get $i)) ${keepBits(false)})`,
      2,
    )})`;
}

/**
 * dare_norms_l1 / dare_norms_l2(acc, n, first, p, b, x): the sums of DARE's norm-keeping
 * rescale for one model, as dare.cpu.ts's dareNormSums adds them: τ = x − b (f32), the kept
 * τ̃ = τ where the keep bit is set, else +0; acc[0] += |τ|, acc[1] += |τ̃| (l2: their squares),
 * in f64. The hash, τ and the mask run four lanes at a time; the lanes are then added one
 * after the other, element order, to two scalar chains that continue from acc.
 */
function dareNormsFunction(norm: 'l1' | 'l2'): string {
  const { locals, loads } = dareParams(['key0', 'key1', 'threshold', 'm1', 'm2', 'step', 'lanes']);
  // |v| promoted to f64 (exact), or its square (exact in f64 too: 48 significant bits at most).
  const term = (value: string) => (norm === 'l1' ? value : `(f64x2.mul (local.tee $d ${value}) (local.get $d))`);
  const add = (chain: string, value: string) => `\n      (local.set ${chain} (f64x2.add (local.get ${chain}) ${term(value)}))`;
  const vectorBody = `${hash(true, '(local.get $vctr)', '(local.get $v_key0)', '(local.get $v_key1)')}
      (local.set $t (f32x4.sub ${vload('$x')} ${vload('$b')}))
      (local.set $k (f32x4.abs (v128.and (local.get $t) ${keepBits(true)})))
      (local.set $t (f32x4.abs (local.get $t)))${add('$before_lo', low('$t'))}${add('$before_hi', high('$t'))}${add('$after_lo', low('$k'))}${add('$after_hi', high('$k'))}${nextCounters}`;
  return `
  (func (export "dare_norms_${norm}")
    (param $acc i32) (param $n i32) (param $first i32) (param $p i32) (param $b i32) (param $x i32)
    (local $i i32) (local $end i32) (local $h v128) (local $vctr v128)
    (local $t v128) (local $k v128) (local $d v128) (local $before_lo v128) (local $before_hi v128) (local $after_lo v128) (local $after_hi v128)
    ${locals}${loads}
    (local.set $before_lo (v128.load (local.get $acc)))
    (local.set $before_hi (v128.load (i32.add (local.get $acc) (i32.const 16))))
    (local.set $after_lo (v128.load (i32.add (local.get $acc) (i32.const 32))))
    (local.set $after_hi (v128.load (i32.add (local.get $acc) (i32.const 48))))${firstCounters}${quads(vectorBody)}
    (v128.store (local.get $acc) (local.get $before_lo))
    (v128.store (i32.add (local.get $acc) (i32.const 16)) (local.get $before_hi))
    (v128.store (i32.add (local.get $acc) (i32.const 32)) (local.get $after_lo))
    (v128.store (i32.add (local.get $acc) (i32.const 48)) (local.get $after_hi)))`;
}

/** Lanes 0 1 (low) and 2 3 (high) of the f32x4 in `v`, promoted to f64x2 (exact). */
const low = (v: string) => `(f64x2.promote_low_f32x4 (local.get ${v}))`;
const high = (v: string) => `(f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get ${v}) (local.get ${v})))`;

/** A loop over groups of four elements ($i in bytes; n a multiple of 4). */
function quads(body: string): string {
  return `
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $turn
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))${body}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn)))`;
}

/** The pairs (i, j), i < j, in model stock's order: (0,1), (0,2), …, (1,2), … */
export function stagedPairs(count: number): [number, number][] {
  return range(count).flatMap((i) => range(count - i - 1).map((k) => [i, i + k + 1] as [number, number]));
}

/**
 * Loads and stores of `count` f64 sums kept in four lanes at $acc (32 bytes each: lanes 0 1 at
 * +0, lanes 2 3 at +16) to and from the locals $<prefix>k_lo / $<prefix>k_hi.
 */
function laneAccumulators(count: number, prefix: string): { load: string; store: string } {
  const halves = ['lo', 'hi'] as const;
  const at = (k: number, h: 'lo' | 'hi') => `(i32.add (local.get $acc) (i32.const ${32 * k + (h === 'hi' ? 16 : 0)}))`;
  const each = (line: (k: number, h: 'lo' | 'hi') => string) => range(count).flatMap((k) => halves.map((h) => `\n    ${line(k, h)}`)).join('');
  return {
    load: each((k, h) => `(local.set $${prefix}${k}_${h} (v128.load ${at(k, h)}))`),
    store: each((k, h) => `(v128.store ${at(k, h)} (local.get $${prefix}${k}_${h}))`),
  };
}

/** f64 sums in four lanes: acc[4k + j mod 4] += term_k of element j (n a multiple of 4). */
function statsFunction(name: string, count: number, withBase: boolean): string {
  const pairs = stagedPairs(count);
  const chains = count + pairs.length;
  const halves = ['lo', 'hi'] as const;
  const xs = range(count).map((i) => `(param $x${i} i32)`).join(' ');
  const locals = [...range(chains), ...range(count).map((i) => `t${i}`)].flatMap((k) => halves.map((h) => `(local $${typeof k === 'number' ? `a${k}` : k}_${h} v128)`)).join(' ');
  const { load: loadAcc, store: storeAcc } = laneAccumulators(chains, 'a');
  const half = (h: 'lo' | 'hi', v: string) => (h === 'lo' ? low(v) : high(v));
  const t = (i: number, h: string) => `(local.get $t${i}_${h})`;
  const accumulate = (k: number, i: number, j: number) =>
    halves.map((h) => `(local.set $a${k}_${h} (f64x2.add (local.get $a${k}_${h}) (f64x2.mul ${t(i, h)} ${t(j, h)})))`);
  const body = [
    ...(withBase ? [`(local.set $v ${vload('$b')})`, `(local.set $c_lo ${low('$v')})`, `(local.set $c_hi ${high('$v')})`] : []),
    ...range(count).flatMap((i) => [
      `(local.set $v ${vload(`$x${i}`)})`,
      ...halves.map((h) => `(local.set $t${i}_${h} ${withBase ? `(f64x2.sub ${half(h, '$v')} (local.get $c_${h}))` : half(h, '$v')})`),
    ]),
    ...range(count).flatMap((i) => accumulate(i, i, i)),
    ...pairs.flatMap(([i, j], p) => accumulate(count + p, i, j)),
  ]
    .map((s) => `\n      ${s}`)
    .join('');
  return `
  (func (export "${name}")
    (param $acc i32) (param $n i32)${withBase ? ' (param $b i32)' : ''} ${xs}
    (local $i i32) (local $end i32) (local $v v128) (local $c_lo v128) (local $c_hi v128) ${locals}${loadAcc}${quads(body)}${storeAcc})`;
}

/** kinship(acc, n, c, x, y) / kinship_plain(acc, n, x, y): six f64 sums in four lanes (n a multiple of 4). */
function kinshipFunction(withReference: boolean): string {
  const halves = ['lo', 'hi'] as const;
  const sums = range(6);
  const locals = [...sums.map((k) => `s${k}`), 'x', 'y', 'c', 'a', 'b', 'd'].flatMap((name) => halves.map((h) => `(local $${name}_${h} v128)`)).join(' ');
  const get = (name: string, h: string) => `(local.get $${name}_${h})`;
  const add = (k: number, h: string, term: string) => `(local.set $s${k}_${h} (f64x2.add ${get(`s${k}`, h)} ${term}))`;
  const half = (h: 'lo' | 'hi', v: string) => (h === 'lo' ? low(v) : high(v));
  const body = [
    ...(['x', 'y', ...(withReference ? ['c'] : [])] as const).flatMap((name) => [`(local.set $v ${vload(`$${name}`)})`, ...halves.map((h) => `(local.set $${name}_${h} ${half(h, '$v')})`)]),
    ...halves.flatMap((h) => [
      `(local.set $a_${h} ${withReference ? `(f64x2.sub ${get('x', h)} ${get('c', h)})` : get('x', h)})`,
      `(local.set $b_${h} ${withReference ? `(f64x2.sub ${get('y', h)} ${get('c', h)})` : get('y', h)})`,
      `(local.set $d_${h} (f64x2.sub ${get('x', h)} ${get('y', h)}))`,
      add(0, h, get('a', h)),
      add(1, h, get('b', h)),
      add(2, h, `(f64x2.mul ${get('a', h)} ${get('b', h)})`),
      add(3, h, `(f64x2.mul ${get('a', h)} ${get('a', h)})`),
      add(4, h, `(f64x2.mul ${get('b', h)} ${get('b', h)})`),
      add(5, h, `(f64x2.mul ${get('d', h)} ${get('d', h)})`),
    ]),
  ]
    .map((line) => `\n      ${line}`)
    .join('');
  const { load: loadAcc, store: storeAcc } = laneAccumulators(6, 's');
  return `
  (func (export "${withReference ? 'kinship' : 'kinship_plain'}")
    (param $acc i32) (param $n i32)${withReference ? ' (param $c i32)' : ''} (param $x i32) (param $y i32)
    (local $i i32) (local $end i32) (local $v v128) ${locals}${loadAcc}${quads(body)}${storeAcc})`;
}

function scaleFunction(add: boolean): string {
  const value = (vector: boolean) => {
    const t = vector ? 'f32x4' : 'f32';
    const product = `(${t}.mul ${vector ? '(local.get $vw)' : '(local.get $w)'} ${vector ? vload('$x') : sload('$x')})`;
    return add ? `(${t}.add ${vector ? vload('$out') : sload('$out')} ${product})` : product;
  };
  return `
  (func (export "${add ? 'scale_add' : 'scale_set'}")
    (param $out i32) (param $n i32) (param $x i32) (param $w f32)
    (local $i i32) (local $end i32) (local $end4 i32) (local $vw v128)
    (local.set $vw (f32x4.splat (local.get $w)))${loops(`\n      ${vstore('$out', value(true))}`, `\n      ${sstore('$out', value(false))}`)})`;
}

/**
 * weighted_N(out, n, wp, x0..x{N−1}): out = w_0·x_0 + w_1·x_1 + … in f32, left to right,
 * each product rounded: scale_set then scale_add for each further input, fused into one
 * pass. w_k sits in all four lanes at wp + 16·k (loaded once, as the DARE parameters).
 */
function weightedFunction(count: number): string {
  const xs = range(count).map((k) => `(param $x${k} i32)`).join(' ');
  const locals = range(count).map((k) => `(local $vw${k} v128) (local $w${k} f32)`).join(' ');
  const loads = range(count)
    .map((k) => `
    (local.set $vw${k} (v128.load (i32.add (local.get $wp) (i32.const ${16 * k}))))
    (local.set $w${k} (f32.load (i32.add (local.get $wp) (i32.const ${16 * k}))))`)
    .join('');
  const value = (vector: boolean) => {
    const t = vector ? 'f32x4' : 'f32';
    const term = (k: number) => `(${t}.mul ${vector ? `(local.get $vw${k})` : `(local.get $w${k})`} ${vector ? vload(`$x${k}`) : sload(`$x${k}`)})`;
    let acc = term(0);
    for (let k = 1; k < count; k++) acc = `(${t}.add ${acc} ${term(k)})`;
    return acc;
  };
  return `
  (func (export "weighted_${count}")
    (param $out i32) (param $n i32) (param $wp i32) ${xs}
    (local $i i32) (local $end i32) (local $end4 i32) ${locals}${loads}${loops(`\n      ${vstore('$out', value(true))}`, `\n      ${sstore('$out', value(false))}`)})`;
}

/** The module's text; the memory is imported as env.memory. */
export function stagedMergesWat(): string {
  const stats = range(STAGED_MAX_MODELS - 1).map((i) => statsFunction(`stats_${i + 2}`, i + 2, true));
  return `
(module
  (import "env" "memory" (memory 0))${dareTermFunction(false)}${dareTermFunction(true)}${dareFinishFunction()}${dareMaskFunction()}${dareNormsFunction('l1')}${dareNormsFunction('l2')}${stats.join('')}${statsFunction('stats_plain', 2, false)}${kinshipFunction(true)}${kinshipFunction(false)}${scaleFunction(false)}${scaleFunction(true)}${range(STAGED_MAX_MODELS).map((i) => weightedFunction(i + 2)).join('')})
`;
}
