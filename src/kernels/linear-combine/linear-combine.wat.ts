/**
 * Linear merges in WebAssembly SIMD (hand-written WAT): the twins of task-vector/linear.cpu.ts
 * (linearMerge) and task-arithmetic.cpu.ts (taskArithmeticMerge), bit for bit on finite
 * inputs, plus the incremental update of population/incremental-merge.ts.
 *
 *   linear_N:           out_j = s · (w_0·x0_j + w_1·x1_j + … + w_{N−1}·x{N−1}_j)
 *   task_arithmetic_N:  out_j = b_j + s · (w_0·(x0_j − b_j) + … )
 *   update:             out_j = m_j + k·(c_j − x_j)
 *
 * The sums run left to right in f32 and every product and difference rounds to f32 before
 * the next operation, exactly the twins' order; wasm SIMD has no fused multiply-add, so
 * nothing is contracted. One export per model count N = 1..LINEAR_WASM_MAX_MODELS (no
 * branch per element: under the baseline compiler every branch costs), four lanes per
 * operation, then a scalar tail. Each output element is written once after all its inputs
 * are read, so `out` may be any input exactly. (Where two NaNs meet, which payload survives
 * may differ from the twin's: NaN stays NaN, its bits are not promised.)
 *
 * Exports (addresses are byte offsets into the imported memory, no alignment needed; n counts floats):
 *   linear_N(out, n, s, x0..x{N−1}, w0..w{N−1})
 *   task_arithmetic_N(out, n, s, b, x0..x{N−1}, w0..w{N−1})
 *   update(out, n, k, m, c, x)
 * tools/build-wasm.mjs assembles this text with wabt into linear-combine.wasm.gen.ts.
 * Pure module: strings only.
 */

/** Models one call takes; more go to the TypeScript twin. The studio loads 2–8 checkpoints. */
export const LINEAR_WASM_MAX_MODELS = 8;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Access {
  load: (ptr: string) => string;
  mul: string;
  add: string;
  sub: string;
  store: (value: string) => string;
  weight: (i: number) => string;
  scale: string;
}

const vector: Access = {
  load: (ptr) => `(v128.load align=4 (i32.add (local.get ${ptr}) (local.get $i)))`,
  mul: 'f32x4.mul',
  add: 'f32x4.add',
  sub: 'f32x4.sub',
  store: (value) => `(v128.store align=4 (i32.add (local.get $out) (local.get $i)) ${value})`,
  weight: (i) => `(local.get $vw${i})`,
  scale: '(local.get $vs)',
};

const scalar: Access = {
  load: (ptr) => `(f32.load align=4 (i32.add (local.get ${ptr}) (local.get $i)))`,
  mul: 'f32.mul',
  add: 'f32.add',
  sub: 'f32.sub',
  store: (value) => `(f32.store align=4 (i32.add (local.get $out) (local.get $i)) ${value})`,
  weight: (i) => `(local.get $w${i})`,
  scale: '(local.get $s)',
};

/** The element (or four) of a merge of `count` models; with `delta`, of task vectors from $b (in local base). */
function mergeValue(a: Access, count: number, delta: boolean, base: string): string {
  const term = (i: number) => `(${a.mul} ${a.weight(i)} ${delta ? `(${a.sub} ${a.load(`$x${i}`)} ${base})` : a.load(`$x${i}`)})`;
  let acc = term(0);
  for (let i = 1; i < count; i++) acc = `(${a.add} ${acc} ${term(i)})`;
  const scaled = `(${a.mul} ${a.scale} ${acc})`;
  return delta ? `(${a.add} ${base} ${scaled})` : scaled;
}

/** The loop skeleton: vectors of 4 while 4 or more floats remain, then single floats. */
function loops(vectorBody: string, scalarBody: string): string {
  return `
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4 (loop $turn4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))${vectorBody}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $turn4)))
    (block $done1 (loop $turn1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))${scalarBody}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $turn1)))`;
}

function mergeFunction(count: number, delta: boolean): string {
  const name = `${delta ? 'task_arithmetic' : 'linear'}_${count}`;
  const xs = range(count).map((i) => `(param $x${i} i32)`).join(' ');
  const ws = range(count).map((i) => `(param $w${i} f32)`).join(' ');
  const vws = range(count).map((i) => `(local $vw${i} v128)`).join(' ');
  const splats = range(count).map((i) => `\n    (local.set $vw${i} (f32x4.splat (local.get $w${i})))`).join('');
  const baseV = delta ? `\n      (local.set $vb ${vector.load('$b')})` : '';
  const baseS = delta ? `\n      (local.set $sb ${scalar.load('$b')})` : '';
  return `
  (func (export "${name}")
    (param $out i32) (param $n i32) (param $s f32)${delta ? ' (param $b i32)' : ''} ${xs} ${ws}
    (local $i i32) (local $end i32) (local $end4 i32) (local $vs v128) (local $vb v128) (local $sb f32) ${vws}
    (local.set $vs (f32x4.splat (local.get $s)))${splats}${loops(
      `${baseV}\n      ${vector.store(mergeValue(vector, count, delta, '(local.get $vb)'))}`,
      `${baseS}\n      ${scalar.store(mergeValue(scalar, count, delta, '(local.get $sb)'))}`,
    )})`;
}

function updateFunction(): string {
  const value = (a: Access, k: string) => `(${a.add} ${a.load('$m')} (${a.mul} ${k} (${a.sub} ${a.load('$c')} ${a.load('$x')})))`;
  return `
  (func (export "update")
    (param $out i32) (param $n i32) (param $k f32) (param $m i32) (param $c i32) (param $x i32)
    (local $i i32) (local $end i32) (local $end4 i32) (local $vk v128)
    (local.set $vk (f32x4.splat (local.get $k)))${loops(
      `\n      ${vector.store(value(vector, '(local.get $vk)'))}`,
      `\n      ${scalar.store(value(scalar, '(local.get $k)'))}`,
    )})`;
}

/** The module's text; the memory is imported as env.memory (the population's). */
export function linearCombineWat(): string {
  const merges = range(LINEAR_WASM_MAX_MODELS).flatMap((i) => [mergeFunction(i + 1, false), mergeFunction(i + 1, true)]);
  return `
(module
  (import "env" "memory" (memory 0))${merges.join('')}${updateFunction()})
`;
}
