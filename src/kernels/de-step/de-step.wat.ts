/**
 * DE step in WebAssembly SIMD (hand-written WAT): the twin of de-step.cpu.ts, bit for bit.
 *
 *   out_j = bitselect(b_j + F·(p_j − m_j), x_j, (randomU32Keyed(k0, k1, g0 + j) >>> 8) < threshold)
 *
 * Four lanes per i32x4 / f32x4 operation, UNROLL vectors per loop turn, then one vector at
 * a time, then a scalar tail (n need not be a multiple of 4). The hash is rng.cpu.ts's two
 * keyed lowbias32 rounds, its constants interpolated from rng.cpu.ts so they cannot drift;
 * wasm has no fused multiply-add in this instruction set, so b + F·(p − m) rounds at each
 * step exactly as the twin's Math.fround chain does. The add is written F·(p − m) + b: where
 * two different NaNs meet, x64 keeps the first operand's payload, and V8's code for the twin's
 * b + F·(p − m) keeps the product's. The select is on bits (v128.bitselect), so unselected
 * elements are the target's exact bits, as in the twin.
 *
 * Exports (all addresses are byte offsets into the imported memory, 16-byte alignment not
 * required; n counts floats):
 *   trial(target, base, plus, minus, out, n, f, threshold, k0, k1, g0)  0 < threshold < 2^24
 *   mutant(base, plus, minus, out, n, f)                                 every element the mutant
 * CR = 0 (a copy of the target) and the forced jRand element are done by the caller (de-step.wasm.ts).
 * `out` may be any one of the inputs exactly (each vector is loaded before it is stored).
 *
 * tools/build-wasm.mjs assembles this text with wabt into de-step.wasm.gen.ts.
 * Pure module: strings only.
 */
import { RNG_MIX_M1, RNG_MIX_M2, RNG_UNIT_BITS } from '../rng/rng.cpu';

/** Vectors of 4 floats per turn of the main loop. */
export const DE_STEP_WASM_UNROLL = 4;

const i32 = (value: number) => `${value | 0}`;
const SHIFT = 32 - RNG_UNIT_BITS;

/** lowbias32 on the i32x4 in local $h (leaves it there). */
function mixVector(h: string): string {
  return `
    (local.set ${h} (v128.xor (local.get ${h}) (i32x4.shr_u (local.get ${h}) (i32.const 16))))
    (local.set ${h} (i32x4.mul (local.get ${h}) (local.get $m1)))
    (local.set ${h} (v128.xor (local.get ${h}) (i32x4.shr_u (local.get ${h}) (i32.const 15))))
    (local.set ${h} (i32x4.mul (local.get ${h}) (local.get $m2)))
    (local.set ${h} (v128.xor (local.get ${h}) (i32x4.shr_u (local.get ${h}) (i32.const 16))))`;
}

function mixScalar(h: string): string {
  return `
    (local.set ${h} (i32.xor (local.get ${h}) (i32.shr_u (local.get ${h}) (i32.const 16))))
    (local.set ${h} (i32.mul (local.get ${h}) (i32.const ${i32(RNG_MIX_M1)})))
    (local.set ${h} (i32.xor (local.get ${h}) (i32.shr_u (local.get ${h}) (i32.const 15))))
    (local.set ${h} (i32.mul (local.get ${h}) (i32.const ${i32(RNG_MIX_M2)})))
    (local.set ${h} (i32.xor (local.get ${h}) (i32.shr_u (local.get ${h}) (i32.const 16))))`;
}

/** base + F·(plus − minus) for the vector at byte offset `at` past the current addresses. */
function mutantVector(at: number): string {
  return `(f32x4.add (f32x4.mul (local.get $vf) (f32x4.sub (v128.load offset=${at} align=4 (local.get $p)) (v128.load offset=${at} align=4 (local.get $m))))
          (v128.load offset=${at} align=4 (local.get $b)))`;
}

/** One vector of the crossover: counter $g + lane, hash, compare, select, store; $g += 4. */
function trialVector(k: number): string {
  const h = `$h${k}`;
  const at = 16 * k;
  return `
    (local.set ${h} (v128.xor ${k === 0 ? '(local.get $g)' : `(i32x4.add (local.get $g) (local.get $c${4 * k}))`} (local.get $k0)))${mixVector(h)}
    (local.set ${h} (i32x4.add (local.get ${h}) (local.get $k1)))${mixVector(h)}
    (v128.store offset=${at} align=4 (local.get $o)
      (v128.bitselect ${mutantVector(at)}
        (v128.load offset=${at} align=4 (local.get $t))
        ;; both sides < 2^25: the signed compare is the unsigned one
        (i32x4.lt_s (i32x4.shr_u (local.get ${h}) (i32.const ${SHIFT})) (local.get $thr))))`;
}

const advance = (bytes: number, names: string[]) =>
  names.map((x) => `\n    (local.set ${x} (i32.add (local.get ${x}) (i32.const ${bytes})))`).join('');

function trialFunction(unroll: number): string {
  const hs = Array.from({ length: unroll }, (_, k) => `(local $h${k} v128)`).join(' ');
  // Lane steps splat(4k), k = 1..unroll, kept in locals: the baseline compiler (Liftoff)
  // would rebuild a v128.const in five instructions at every use.
  const steps = Array.from({ length: unroll }, (_, k) => 4 * (k + 1));
  const stepLocals = steps.map((c) => `(local $c${c} v128)`).join(' ');
  const stepInits = steps.map((c) => `\n    (local.set $c${c} (i32x4.splat (i32.const ${c})))`).join('');
  const body = Array.from({ length: unroll }, (_, k) => trialVector(k)).join('');
  const ptrs = ['$t', '$b', '$p', '$m', '$o'];
  return `
  (func (export "trial")
    (param $t i32) (param $b i32) (param $p i32) (param $m i32) (param $o i32) (param $n i32)
    (param $f f32) (param $threshold i32) (param $key0 i32) (param $key1 i32) (param $g0 i32)
    (local $g v128) (local $k0 v128) (local $k1 v128) (local $m1 v128) (local $m2 v128)
    (local $vf v128) (local $thr v128) ${hs} ${stepLocals}
    (local $end i32) (local $s i32) (local $x i32)
    ;; $g: the counters of the turn's first vector, g0 + lane${stepInits}
    (local.set $g (i32x4.add (i32x4.splat (local.get $g0)) (v128.const i32x4 0 1 2 3)))
    (local.set $k0 (i32x4.splat (local.get $key0)))
    (local.set $k1 (i32x4.splat (local.get $key1)))
    (local.set $m1 (i32x4.splat (i32.const ${i32(RNG_MIX_M1)})))
    (local.set $m2 (i32x4.splat (i32.const ${i32(RNG_MIX_M2)})))
    (local.set $vf (f32x4.splat (local.get $f)))
    (local.set $thr (i32x4.splat (local.get $threshold)))
    ;; main loop: ${unroll} vectors per turn, while ${4 * unroll} or more floats remain
    (local.set $end (i32.add (local.get $o) (i32.shl (i32.and (local.get $n) (i32.const ${i32(~(4 * unroll - 1))})) (i32.const 2))))
    (block $done (loop $turn
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))${body}
      (local.set $g (i32x4.add (local.get $g) (local.get $c${4 * unroll})))${advance(16 * unroll, ptrs)}
      (br $turn)))
    ;; then one vector at a time
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const ${4 * unroll - 4})) (i32.const 2))))
    (block $done4 (loop $turn4
      (br_if $done4 (i32.ge_u (local.get $o) (local.get $end)))${trialVector(0)}
      (local.set $g (i32x4.add (local.get $g) (local.get $c4)))${advance(16, ptrs)}
      (br $turn4)))
    ;; scalar tail: counter = lane 0 of $g
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (local.set $s (i32x4.extract_lane 0 (local.get $g)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $x (i32.xor (local.get $s) (local.get $key0)))${mixScalar('$x')}
      (local.set $x (i32.add (local.get $x) (local.get $key1)))${mixScalar('$x')}
      (i32.store align=4 (local.get $o)
        (select
          (i32.reinterpret_f32 (f32.add (f32.mul (local.get $f) (f32.sub (f32.load align=4 (local.get $p)) (f32.load align=4 (local.get $m))))
            (f32.load align=4 (local.get $b))))
          (i32.load align=4 (local.get $t))
          (i32.lt_u (i32.shr_u (local.get $x) (i32.const ${SHIFT})) (local.get $threshold))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))${advance(4, ptrs)}
      (br $turn1))))`;
}

function mutantFunction(): string {
  const ptrs = ['$b', '$p', '$m', '$o'];
  return `
  (func (export "mutant")
    (param $b i32) (param $p i32) (param $m i32) (param $o i32) (param $n i32) (param $f f32)
    (local $vf v128) (local $end i32)
    (local.set $vf (f32x4.splat (local.get $f)))
    (local.set $end (i32.add (local.get $o) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $turn
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store align=4 (local.get $o) ${mutantVector(0)})${advance(16, ptrs)}
      (br $turn)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $o) (local.get $end)))
      (f32.store align=4 (local.get $o) (f32.add (f32.mul (local.get $f) (f32.sub (f32.load align=4 (local.get $p)) (f32.load align=4 (local.get $m))))
        (f32.load align=4 (local.get $b))))${advance(4, ptrs)}
      (br $turn1))))`;
}

/** The module's text; the memory is imported as env.memory (the population's). */
export function deStepWat(unroll: number = DE_STEP_WASM_UNROLL): string {
  return `;; generated by de-step.wat.ts — do not edit the assembled bytes by hand
(module
  (import "env" "memory" (memory 0))${trialFunction(unroll)}${mutantFunction()})
`;
}
