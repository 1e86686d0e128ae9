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
 *       else +0; acc[0] += |τ|, acc[1] += |τ̃| (l2: squares), f64
 *   stats_N(acc, n, b, x0..x{N−1}):  dot-norms.cpu.ts against a base, for all pairs at once:
 *       t_i = x_i − b in f64, acc = [‖t_0‖², …, ‖t_{N−1}‖², t_0·t_1, t_0·t_2, …, t_1·t_2, …]
 *   stats_plain(acc, n, x, y):  dot-norms.cpu.ts without a base, acc = [‖x‖², ‖y‖², x·y]
 *   scale_set(out, n, x, w):  out = w·x;   scale_add(out, n, x, w):  out = out + w·x  (f32)
 *   weighted_N(out, n, wp, x0..x{N−1}):  scale_set, then scale_add for x1, x2, …, fused
 *       into one pass (N = 2 … STAGED_MAX_MODELS + 1)
 *
 * The hash is rng.cpu.ts's randomU32Keyed: two lowbias32 rounds, u32 multiply, xor and
 * logical shift, four counters per i32x4 (counter = first + element index, wrapping).
 * A model's DARE parameters sit in a block at p (DARE_PARAM).
 * The f64 sums are scalar and sequential, one element after the other, in the order the
 * TypeScript loops add them, continuing from the values stored in acc (so a tensor can be
 * summed block by block): a reordered (SIMD) sum would round differently. Their latency
 * chains, not the arithmetic, bound them.
 * wasm SIMD has no fused multiply-add, so nothing is contracted. (Where NaNs meet, which
 * payload survives may differ from the twin: NaN stays NaN.)
 * Addresses are byte offsets into the imported memory; n counts elements.
 * Pure module: strings only.
 */
import { RNG_MIX_M1, RNG_MIX_M2 } from '../rng/rng.cpu';

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
  const term = (value: string) => (norm === 'l1' ? `(f64.promote_f32 ${value})` : `(f64.mul (local.tee $d (f64.promote_f32 ${value})) (local.get $d))`);
  const add = (chain: '$before' | '$after', value: string) => `\n      (local.set ${chain} (f64.add (local.get ${chain}) ${term(value)}))`;
  const lanes = range(4)
    .map((l) => `${add('$before', `(f32x4.extract_lane ${l} (local.get $t))`)}${add('$after', `(f32x4.extract_lane ${l} (local.get $k))`)}`)
    .join('');
  const vectorBody = `${hash(true, '(local.get $vctr)', '(local.get $v_key0)', '(local.get $v_key1)')}
      (local.set $t (f32x4.sub ${vload('$x')} ${vload('$b')}))
      (local.set $k (f32x4.abs (v128.and (local.get $t) ${keepBits(true)})))
      (local.set $t (f32x4.abs (local.get $t)))${lanes}${nextCounters}`;
  const scalarBody = `${hash(false, scalarCounter, '(local.get $s_key0)', '(local.get $s_key1)')}
      (local.set $st (f32.sub ${sload('$x')} ${sload('$b')}))
      (local.set $sk (f32.abs (f32.reinterpret_i32 (i32.and (i32.reinterpret_f32 (local.get $st)) ${keepBits(false)}))))${add('$before', '(f32.abs (local.get $st))')}${add('$after', '(local.get $sk)')}`;
  return `
  (func (export "dare_norms_${norm}")
    (param $acc i32) (param $n i32) (param $first i32) (param $p i32) (param $b i32) (param $x i32)
    (local $i i32) (local $end i32) (local $end4 i32) (local $h v128) (local $vctr v128) (local $sh i32)
    (local $t v128) (local $k v128) (local $st f32) (local $sk f32) (local $d f64) (local $before f64) (local $after f64)
    ${locals}${loads}
    (local.set $before (f64.load (local.get $acc)))
    (local.set $after (f64.load (i32.add (local.get $acc) (i32.const 8))))${firstCounters}${loops(vectorBody, scalarBody)}
    (f64.store (local.get $acc) (local.get $before))
    (f64.store (i32.add (local.get $acc) (i32.const 8)) (local.get $after)))`;
}

/** The pairs (i, j), i < j, in model stock's order: (0,1), (0,2), …, (1,2), … */
export function stagedPairs(count: number): [number, number][] {
  return range(count).flatMap((i) => range(count - i - 1).map((k) => [i, i + k + 1] as [number, number]));
}

/** Scalar f64 chains: acc[k] += term_k for each element, in element order. */
function statsFunction(name: string, count: number, withBase: boolean): string {
  const pairs = stagedPairs(count);
  const chains = count + pairs.length;
  const xs = range(count).map((i) => `(param $x${i} i32)`).join(' ');
  const locals = [...range(chains).map((k) => `(local $a${k} f64)`), ...range(count).map((i) => `(local $t${i} f64)`)].join(' ');
  const accAt = (k: number) => `(i32.add (local.get $acc) (i32.const ${8 * k}))`;
  const loadAcc = range(chains).map((k) => `\n    (local.set $a${k} (f64.load ${accAt(k)}))`).join('');
  const storeAcc = range(chains).map((k) => `\n    (f64.store ${accAt(k)} (local.get $a${k}))`).join('');
  const promote = (ptr: string) => `(f64.promote_f32 ${sload(ptr)})`;
  const body = [
    ...(withBase ? [`(local.set $c ${promote('$b')})`] : []),
    ...range(count).map((i) => `(local.set $t${i} ${withBase ? `(f64.sub ${promote(`$x${i}`)} (local.get $c))` : promote(`$x${i}`)})`),
    ...range(count).map((i) => `(local.set $a${i} (f64.add (local.get $a${i}) (f64.mul (local.get $t${i}) (local.get $t${i}))))`),
    ...pairs.map(([i, j], p) => `(local.set $a${count + p} (f64.add (local.get $a${count + p}) (f64.mul (local.get $t${i}) (local.get $t${j}))))`),
  ]
    .map((s) => `\n      ${s}`)
    .join('');
  // Two elements per turn, one after the other (the chains' order is unchanged), halves the turn's overhead.
  const next = '\n      (local.set $i (i32.add (local.get $i) (i32.const 4)))';
  return `
  (func (export "${name}")
    (param $acc i32) (param $n i32)${withBase ? ' (param $b i32)' : ''} ${xs}
    (local $i i32) (local $end i32) (local $c f64) ${locals}${loadAcc}
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done2 (loop $turn2
      (br_if $done2 (i32.ge_u (i32.add (local.get $i) (i32.const 4)) (local.get $end)))${body}${next}${body}${next}
      (br $turn2)))
    (block $done (loop $turn
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))${body}${next}
      (br $turn)))${storeAcc})`;
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
  (import "env" "memory" (memory 0))${dareTermFunction(false)}${dareTermFunction(true)}${dareFinishFunction()}${dareMaskFunction()}${dareNormsFunction('l1')}${dareNormsFunction('l2')}${stats.join('')}${statsFunction('stats_plain', 2, false)}${scaleFunction(false)}${scaleFunction(true)}${range(STAGED_MAX_MODELS).map((i) => weightedFunction(i + 2)).join('')})
`;
}
