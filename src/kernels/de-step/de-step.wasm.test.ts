import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { KernelParamsError } from '../errors';
import { CounterRng } from '../rng/rng.cpu';
import { firstBitMismatch, seededFloats } from '../testing';
import { assembleWat, generatedModule } from './de-step.assemble';
import { deTrialCpu, type DeStepParams } from './de-step.cpu';
import { DE_STEP_WASM_BASE64 } from './de-step.wasm.gen';
import { DeStepWasm } from './de-step.wasm';
import { deStepWat } from './de-step.wat';

const rng = new CounterRng(0x5eed_a5a, 7);
const SIZES = [1, 3, 5, 37, 1001, 65537];
const MAX = 65537;
// Five vectors (four roles and out) plus slack for misaligned placements.
const memory = new WebAssembly.Memory({ initial: Math.ceil((6 * (MAX + 8) * 4) / 65536) });
const kernel = DeStepWasm.create(memory)!;

/** Vector k of the pool at a lane-misaligned float offset (k·(MAX + 8) + shift). */
function poolView(k: number, n: number, shift: number): Float32Array {
  return new Float32Array(memory.buffer, 4 * (k * (MAX + 8) + shift), n);
}

function randomParams(n: number, overrides: Partial<DeStepParams> = {}): DeStepParams {
  const offset = rng.nextInt(5_000_000);
  return { f: 2 * rng.nextUnit() - 0.5, cr: rng.nextUnit(), seed: rng.nextU32(), stream: rng.nextInt(1 << 20), offset, jRand: offset + rng.nextInt(n), ...overrides };
}


let compared = 0;

/**
 * Runs the SIMD kernel on pool vectors with the given roles (indices 0..3; out is 4, or
 * one of the roles) and the TS twin on copies; expects every output float's bits equal.
 */
function expectTwin(n: number, roles: [number, number, number, number], params: DeStepParams, fill = (_k: number) => seededFloats(rng, n), outRole = 4): void {
  const shifts = [0, 1, 2, 3, 1].map(() => rng.nextInt(4));
  const views = [0, 1, 2, 3, 4].map((k) => poolView(k, n, shifts[k]!));
  const data = [0, 1, 2, 3].map(fill);
  data.forEach((d, k) => views[k]!.set(d));
  views[4]!.fill(NaN);
  const [t, b, p, m] = roles;
  const reference = outRole === 4 ? new Float32Array(n) : data[outRole]!.slice();
  deTrialCpu({ target: data[t]!, base: data[b]!, plus: data[p]!, minus: data[m]! }, reference, params);
  kernel.trial({ target: views[t]!, base: views[b]!, plus: views[p]!, minus: views[m]! }, views[outRole]!, params);
  const at = firstBitMismatch(views[outRole]!, reference);
  if (at >= 0) throw new Error(`n ${n}, roles ${roles}, out ${outRole}, ${JSON.stringify(params)}: element ${at}: ${views[outRole]![at]} vs twin ${reference[at]}`);
  compared++;
}

/** Every (base, plus, minus) over four vectors with plus ≠ minus, the target vector 0. */
const ROLE_SETS: [number, number, number, number][] = [];
for (let b = 0; b < 4; b++) for (let p = 0; p < 4; p++) for (let m = 0; m < 4; m++) if (p !== m) ROLE_SETS.push([0, b, p, m]);

describe('de-step wasm SIMD: bit for bit the TS twin', () => {
  it('the committed module is the current assembly of de-step.wat.ts', async () => {
    const bytes = await assembleWat(deStepWat(), 'de-step.wat.ts');
    const base64 = Buffer.from(bytes).toString('base64');
    expect(base64).toBe(DE_STEP_WASM_BASE64);
    const file = readFileSync(new URL('./de-step.wasm.gen.ts', import.meta.url), 'utf8');
    expect(file).toBe(generatedModule('DE_STEP_WASM_BASE64', 'src/kernels/de-step/de-step.wat.ts', base64));
  });

  it.each(SIZES)('every role combination (interpolation, DE/rand/1, DE/best/1, shared roles), jRand in and off, n = %i', (n) => {
    const before = compared;
    for (const roles of ROLE_SETS) {
      const params = randomParams(n);
      expectTwin(n, roles, params);
      expectTwin(n, roles, { ...params, jRand: -1 });
    }
    expect(compared - before).toBe(2 * ROLE_SETS.length);
  });

  it.each(SIZES)('CR 0, tiny, 1 and jRand outside the tensor; offsets past 2^31 and at the u32 limit, n = %i', (n) => {
    const roles = [0, 1, 2, 3] as [number, number, number, number];
    const interpolation = [0, 0, 1, 0] as [number, number, number, number];
    for (const r of [roles, interpolation]) {
      for (const cr of [0, 1e-9, 1 - 1e-9, 1, 0.5]) {
        const params = randomParams(n, { cr });
        expectTwin(n, r, params);
        expectTwin(n, r, { ...params, jRand: params.offset + n });
        expectTwin(n, r, { ...params, jRand: Math.max(0, params.offset - 1) });
      }
      for (const offset of [0, 2 ** 31 - 2, 2 ** 31 + 12345, 2 ** 32 - 1 - n]) {
        expectTwin(n, r, randomParams(n, { offset, jRand: offset + n - 1 }));
        expectTwin(n, r, randomParams(n, { offset, jRand: offset, cr: 1 }));
      }
    }
  });

  it.each(SIZES)('out is the target, the base or the plus vector itself, n = %i', (n) => {
    for (const outRole of [0, 1, 2]) {
      for (const roles of [[0, 0, 1, 0], [0, 1, 2, 3], [0, 2, 1, 0]] as [number, number, number, number][]) {
        const params = randomParams(n);
        expectTwin(n, roles, params, undefined, outRole);
        expectTwin(n, roles, { ...params, cr: 1 }, undefined, outRole);
      }
    }
  });

  // Where two NaNs with different payloads meet in one add, IEEE 754 and wasm leave the result's
  // payload to the machine: the WAT adds F·(p − m) + b in that operand order, which is what V8's
  // code for the twin's b + F·(p − m) gives on x64 (checked here under Liftoff and TurboFan alike).
  it('special values: ±0, ±Inf, subnormals, extremes and NaN payloads keep the same bits', () => {
    const specials = [0, -0, Infinity, -Infinity, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1, -1];
    const nanBits = [0x7fc00000, 0xffc00000, 0x7fa00001, 0x7f800001];
    const fill = (n: number) => () => {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let j = 0; j < n; j++) {
        const r = rng.nextInt(16);
        if (r < 4) bits[j] = nanBits[r]!;
        else if (r < 12) out[j] = specials[rng.nextInt(specials.length)]!;
        else out[j] = (rng.nextUnit() - 0.5) * 1e3;
      }
      return out;
    };
    for (const n of [37, 1001]) {
      for (const roles of ROLE_SETS) {
        for (const f of [0.5, 0, -0, 1e30, -3e38]) {
          const params = { ...randomParams(n), f };
          expectTwin(n, roles, params, fill(n));
          expectTwin(n, roles, { ...params, cr: 1 }, fill(n));
        }
      }
    }
  });

  it('more floats than one kernel call takes (2^20 + 37): the counter base carries across calls', () => {
    const n = (1 << 20) + 37;
    const big = new WebAssembly.Memory({ initial: Math.ceil((5 * 4 * n) / 65536) + 1 });
    const simd = DeStepWasm.create(big)!;
    const [x, d, r, o] = [0, 1, 2, 3].map((k) => new Float32Array(big.buffer, 4 * (k * n + k), n)) as Float32Array[];
    x!.set(seededFloats(rng, n));
    d!.set(seededFloats(rng, n));
    r!.set(seededFloats(rng, n));
    for (const cr of [0.5, 1]) {
      const params = randomParams(n, { cr, jRand: 0 });
      params.jRand = params.offset + (1 << 20) + 5;
      for (const v of [{ target: x!, base: x!, plus: d!, minus: x! }, { target: x!, base: d!, plus: r!, minus: x! }]) {
        const reference = new Float32Array(n);
        deTrialCpu({ target: v.target.slice(), base: v.base.slice(), plus: v.plus.slice(), minus: v.minus.slice() }, reference, params);
        simd.trial(v, o!, params);
        expect(firstBitMismatch(o!, reference)).toBe(-1);
        compared++;
      }
    }
  });

  it('rejects vectors outside its memory, mismatched lengths and partial overlaps', () => {
    const n = 8;
    const [x, d, o] = [poolView(0, n, 0), poolView(1, n, 0), poolView(2, n, 0)];
    const params = randomParams(n);
    expect(() => kernel.trial({ target: new Float32Array(n), base: x, plus: d, minus: x }, o, params)).toThrow(KernelParamsError);
    expect(() => kernel.trial({ target: x, base: x, plus: d, minus: x }, poolView(2, n - 1, 0), params)).toThrow(KernelParamsError);
    expect(() => kernel.trial({ target: x, base: x, plus: d, minus: x }, poolView(0, n, 1), params)).toThrow(KernelParamsError);
    expect(() => kernel.trial({ target: x, base: x, plus: d, minus: x }, o, { ...params, offset: 2 ** 32 - 4 })).toThrow(KernelParamsError);
  });

  it('counts', () => {
    expect(compared).toBeGreaterThan(0);
    console.log(`de-step.wasm.test.ts: ${compared} SIMD-vs-twin comparisons, every output float's bits`);
  });
});
