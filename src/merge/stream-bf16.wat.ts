/**
 * The streamed merge's bfloat16 fast path in WebAssembly SIMD (hand-written WAT): linear and
 * task-arithmetic merges that read the stored bfloat16 bits and write bfloat16 bits in one
 * pass, with the bits of the TypeScript route they replace (safetensors-float.ts decodes to
 * f32, task-vector/linear.cpu.ts linearMerge or task-arithmetic.cpu.ts taskArithmeticMerge
 * merge, encodeBFloat16 rounds to nearest even):
 *
 *   linear_bf16_N:           out_j = bf16(s · (w_0·x0_j + … + w_{N−1}·x{N−1}_j))
 *   task_arithmetic_bf16_N:  out_j = bf16(b_j + s · (w_0·(x0_j − b_j) + …))
 *
 * A bfloat16 is the upper half of an f32, so decoding is a widening shift; the f32 arithmetic
 * is the twins' order (sums left to right, every product and difference rounded to f32, no
 * fused multiply-add), as in kernels/linear-combine. Rounding adds 0x7fff plus the kept lsb,
 * as encodeBFloat16 does. NaN is where the two routes may part (which payload survives, and
 * encodeBFloat16 quiets it): each call returns 1 when any output is NaN, and the caller then
 * takes the TypeScript route for that call's elements, so the bytes never differ.
 *
 * Eight elements per vector turn, then single elements; one export per model count (no branch
 * per element: the CLI runs wasm under the baseline compiler, where every branch costs).
 * Exports (byte offsets into the imported memory, no alignment needed; n counts elements):
 *   linear_bf16_N(out, n, s, x0..x{N−1}, w0..w{N−1}) → i32 (1: some output is NaN)
 *   task_arithmetic_bf16_N(out, n, s, b, x0..x{N−1}, w0..w{N−1}) → i32
 *   decode_bf16(dst, n, src), encode_bf16(dst, n, src) → i32: the codec of the methods that merge
 *       float32 (stream-bf16.ts Bf16Codec): a widening shift, and the rounding above (1: a NaN input)
 * Pure module: strings only.
 */

/** Models one call takes; more go to the TypeScript route. */
export const BF16_STREAM_MAX_MODELS = 8;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Lanes {
  mul: string;
  add: string;
  sub: string;
  weight: (i: number) => string;
  scale: string;
}

const vector: Lanes = { mul: 'f32x4.mul', add: 'f32x4.add', sub: 'f32x4.sub', weight: (i) => `(local.get $vw${i})`, scale: '(local.get $vs)' };
const scalar: Lanes = { mul: 'f32.mul', add: 'f32.add', sub: 'f32.sub', weight: (i) => `(local.get $w${i})`, scale: '(local.get $s)' };

/** The merged value from decoded inputs `x(i)` and base `b`, in the twins' order. */
function mergeValue(a: Lanes, count: number, delta: boolean, x: (i: number) => string, b: string): string {
  const term = (i: number) => `(${a.mul} ${a.weight(i)} ${delta ? `(${a.sub} ${x(i)} ${b})` : x(i)})`;
  let acc = term(0);
  for (let i = 1; i < count; i++) acc = `(${a.add} ${acc} ${term(i)})`;
  const scaled = `(${a.mul} ${a.scale} ${acc})`;
  return delta ? `(${a.add} ${b} ${scaled})` : scaled;
}

const at = (ptr: string) => `(i32.add (local.get ${ptr}) (local.get $i))`;
/** Four f32 from the low or high four bfloat16 of a loaded vector. */
const widen = (v: string, half: 'low' | 'high') => `(i32x4.shl (i32x4.extend_${half}_i16x8_u (local.get ${v})) (i32.const 16))`;
/** f32 bits (as i32 lanes) rounded to bfloat16 bits, nearest even: (x + 0x7fff + ((x >> 16) & 1)) >> 16. */
const roundV = (r: string) => `(i32x4.shr_u (i32x4.add (i32x4.add (local.get ${r}) (local.get $v7fff)) (v128.and (i32x4.shr_u (local.get ${r}) (i32.const 16)) (local.get $vone))) (i32.const 16))`;

function mergeFunction(count: number, delta: boolean): string {
  const name = `${delta ? 'task_arithmetic' : 'linear'}_bf16_${count}`;
  const xs = range(count).map((i) => `(param $x${i} i32)`).join(' ');
  const ws = range(count).map((i) => `(param $w${i} f32)`).join(' ');
  const vws = range(count).map((i) => `(local $vw${i} v128)`).join(' ');
  const vxs = range(count).map((i) => `(local $vx${i} v128)`).join(' ');
  const splats = range(count).map((i) => `\n    (local.set $vw${i} (f32x4.splat (local.get $w${i})))`).join('');
  const loads = range(count).map((i) => `\n      (local.set $vx${i} (v128.load align=2 ${at(`$x${i}`)}))`).join('');
  const baseLoad = delta ? `\n      (local.set $vb (v128.load align=2 ${at('$b')}))\n      (local.set $blo ${widen('$vb', 'low')})\n      (local.set $bhi ${widen('$vb', 'high')})` : '';
  const half = (h: 'low' | 'high') => mergeValue(vector, count, delta, (i) => widen(`$vx${i}`, h), h === 'low' ? '(local.get $blo)' : '(local.get $bhi)');
  const scalarX = (ptr: string) => `(f32.reinterpret_i32 (i32.shl (i32.load16_u align=1 ${at(ptr)}) (i32.const 16)))`;
  const scalarBase = delta ? `\n      (local.set $sb ${scalarX('$b')})` : '';
  return `
  (func (export "${name}")
    (param $out i32) (param $n i32) (param $s f32)${delta ? ' (param $b i32)' : ''} ${xs} ${ws} (result i32)
    (local $i i32) (local $end i32) (local $end8 i32) (local $vs v128) (local $v7fff v128) (local $vone v128) (local $nan v128) (local $nan1 i32)
    (local $vb v128) (local $blo v128) (local $bhi v128) (local $lo v128) (local $hi v128) (local $sb f32) (local $r f32) (local $bits i32) ${vws} ${vxs}
    (local.set $vs (f32x4.splat (local.get $s)))
    (local.set $v7fff (i32x4.splat (i32.const 0x7fff)))
    (local.set $vone (i32x4.splat (i32.const 1)))${splats}
    (local.set $end8 (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 1)))
    (local.set $end (i32.shl (local.get $n) (i32.const 1)))
    (block $done8 (loop $turn8
      (br_if $done8 (i32.ge_u (local.get $i) (local.get $end8)))${loads}${baseLoad}
      (local.set $lo ${half('low')})
      (local.set $hi ${half('high')})
      (local.set $nan (v128.or (local.get $nan) (v128.or (f32x4.ne (local.get $lo) (local.get $lo)) (f32x4.ne (local.get $hi) (local.get $hi)))))
      (v128.store align=2 ${at('$out')} (i16x8.narrow_i32x4_u ${roundV('$lo')} ${roundV('$hi')}))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn8)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))${scalarBase}
      (local.set $r ${mergeValue(scalar, count, delta, (i) => scalarX(`$x${i}`), '(local.get $sb)')})
      (local.set $nan1 (i32.or (local.get $nan1) (f32.ne (local.get $r) (local.get $r))))
      (local.set $bits (i32.reinterpret_f32 (local.get $r)))
      (i32.store16 align=1 ${at('$out')} (i32.shr_u (i32.add (i32.add (local.get $bits) (i32.const 0x7fff)) (i32.and (i32.shr_u (local.get $bits) (i32.const 16)) (i32.const 1))) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $turn1)))
    (i32.or (v128.any_true (local.get $nan)) (local.get $nan1)))`;
}

/** decode_bf16(dst, n, src): n bfloat16 at src widened to f32 at dst, as safetensors-float.ts decodes them. */
function decodeFunction(): string {
  return `
  (func (export "decode_bf16")
    (param $dst i32) (param $n i32) (param $src i32)
    (local $i i32) (local $end8 i32) (local $end i32) (local $v v128)
    (local.set $end8 (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 1)))
    (local.set $end (i32.shl (local.get $n) (i32.const 1)))
    (block $done8 (loop $turn8
      (br_if $done8 (i32.ge_u (local.get $i) (local.get $end8)))
      (local.set $v (v128.load align=2 ${at('$src')}))
      (v128.store align=4 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1))) ${widen('$v', 'low')})
      (v128.store align=4 (i32.add (i32.add (local.get $dst) (i32.const 16)) (i32.shl (local.get $i) (i32.const 1))) ${widen('$v', 'high')})
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn8)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
      (i32.store align=4 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1))) (i32.shl (i32.load16_u align=1 ${at('$src')}) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $turn1))))`;
}

/**
 * encode_bf16(dst, n, src) → i32: n f32 at src rounded to bfloat16 at dst, nearest even, as
 * encodeBFloat16; 1 when some input is NaN (encodeBFloat16 quiets NaNs: the caller encodes those itself).
 */
function encodeFunction(): string {
  const load = (offset: number) => `(v128.load align=4 (i32.add (i32.add (local.get $src) (i32.const ${offset})) (i32.shl (local.get $i) (i32.const 1))))`;
  return `
  (func (export "encode_bf16")
    (param $dst i32) (param $n i32) (param $src i32) (result i32)
    (local $i i32) (local $end8 i32) (local $end i32) (local $lo v128) (local $hi v128) (local $v7fff v128) (local $vone v128) (local $nan v128) (local $nan1 i32) (local $bits i32)
    (local.set $v7fff (i32x4.splat (i32.const 0x7fff)))
    (local.set $vone (i32x4.splat (i32.const 1)))
    (local.set $end8 (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 1)))
    (local.set $end (i32.shl (local.get $n) (i32.const 1)))
    (block $done8 (loop $turn8
      (br_if $done8 (i32.ge_u (local.get $i) (local.get $end8)))
      (local.set $lo ${load(0)})
      (local.set $hi ${load(16)})
      (local.set $nan (v128.or (local.get $nan) (v128.or (f32x4.ne (local.get $lo) (local.get $lo)) (f32x4.ne (local.get $hi) (local.get $hi)))))
      (v128.store align=2 ${at('$dst')} (i16x8.narrow_i32x4_u ${roundV('$lo')} ${roundV('$hi')}))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn8)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $bits (i32.load align=4 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
      (local.set $nan1 (i32.or (local.get $nan1) (f32.ne (f32.reinterpret_i32 (local.get $bits)) (f32.reinterpret_i32 (local.get $bits)))))
      (i32.store16 align=1 ${at('$dst')} (i32.shr_u (i32.add (i32.add (local.get $bits) (i32.const 0x7fff)) (i32.and (i32.shr_u (local.get $bits) (i32.const 16)) (i32.const 1))) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $turn1)))
    (i32.or (v128.any_true (local.get $nan)) (local.get $nan1)))`;
}

/** The module's text; the memory is imported as env.memory. */
export function streamBf16Wat(): string {
  const merges = range(BF16_STREAM_MAX_MODELS).flatMap((i) => [mergeFunction(i + 1, false), mergeFunction(i + 1, true)]);
  return `
(module
  (import "env" "memory" (memory 0))${merges.join('')}${decodeFunction()}${encodeFunction()})
`;
}
