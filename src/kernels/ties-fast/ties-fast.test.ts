import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CounterRng } from '../rng/rng.cpu';
import { assembleWat, generatedModule } from '../de-step/de-step.assemble';
import { tiesMerge, tiesMergeTwin, type TiesParams } from '../task-vector/ties.cpu';
import { TIES_FAST_WASM_BASE64 } from './ties-fast.wasm.gen';
import { tiesFastWasm } from './ties-fast.wasm';
import { TIES_WASM_MAX_MODELS, tiesFastWat } from './ties-fast.wat';
import { SAMPLE_BLOCK, sampleKeysTs, SAMPLE_TARGET } from './ties-select';

const rng = new CounterRng(0x7135, 11);
const fast = tiesFastWasm();

const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

function expectSameBits(got: Float32Array, want: Float32Array, label: string): void {
  const [x, y] = [bits(got), bits(want)];
  expect(x.length, label).toBe(y.length);
  for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) expect(`${label}: float ${j}: ${got[j]} (0x${x[j]!.toString(16)})`).toBe(`${want[j]} (0x${y[j]!.toString(16)})`);
}

type Kind = 'smooth' | 'octaves' | 'bf16' | 'levels' | 'zeros';

/**
 * A base and models around it: smooth deltas, deltas over 40 octaves (windows wider than
 * their bins, so the records are narrowed again), bf16-rounded values (many exact ties), a
 * few delta levels, or deltas that are often exactly 0.
 */
function tensors(n: number, count: number, kind: Kind): { base: Float32Array; models: Float32Array[] } {
  const base = Float32Array.from({ length: n }, () => 2 * rng.nextUnit() - 1);
  const bf16 = (x: number) => {
    const u = new Uint32Array(Float32Array.of(x).buffer);
    u[0] = u[0]! & 0xffff_0000;
    return new Float32Array(u.buffer)[0]!;
  };
  if (kind === 'bf16') base.set(base.map(bf16));
  const levels = [0.5, 0.25, 0.125].map((x) => x * (0.5 + rng.nextUnit()));
  const models = Array.from({ length: count }, () =>
    Float32Array.from(base, (b) => {
      const d = 0.02 * (2 * rng.nextUnit() - 1);
      if (kind === 'bf16') return bf16(b + d);
      if (kind === 'levels') return b + (rng.nextU32() & 1 ? 1 : -1) * levels[rng.nextInt(levels.length)]!;
      if (kind === 'zeros') return rng.nextUnit() < 0.4 ? b : b + d;
      if (kind === 'octaves') return b + d * 2 ** (rng.nextInt(40) - 20);
      return b + d;
    }),
  );
  return { base, models };
}

function randomParams(count: number): TiesParams {
  const pick = rng.nextInt(4);
  const density = pick === 0 ? 0 : pick === 1 ? 1 : pick === 2 ? rng.nextUnit() : Array.from({ length: count }, () => [0, 1, rng.nextUnit()][rng.nextInt(3)]!);
  return {
    density,
    weights: Array.from({ length: count }, () => [1, 0, -0.5, 0.3 + 2 * rng.nextUnit()][rng.nextInt(4)]!),
    lambda: rng.nextUnit() < 0.3 ? 1 : 2 * rng.nextUnit() - 0.5,
    normalize: rng.nextUnit() < 0.6,
    consensus: rng.nextUnit() < 0.5 ? 'sum' : 'count',
  };
}

function twinOf(models: Float32Array[], base: Float32Array, params: TiesParams): Float32Array {
  const out = new Float32Array(base.length);
  tiesMergeTwin(models, base, out, params);
  return out;
}

describe('fast TIES (WebAssembly SIMD) against the TypeScript twin, bit for bit', () => {
  it('runs here, and the committed module is the assembled WAT', async () => {
    expect(fast).not.toBeNull();
    const bytes = await assembleWat(tiesFastWat(), 'ties-fast.wat.ts');
    expect(Buffer.from(bytes).toString('base64')).toBe(TIES_FAST_WASM_BASE64);
    const committed = readFileSync(new URL('./ties-fast.wasm.gen.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generatedModule('TIES_FAST_WASM_BASE64', 'src/kernels/ties-fast/ties-fast.wat.ts', TIES_FAST_WASM_BASE64));
  });

  it.each([1, 2, 3, 5, 37, 1001, 8191, 8193, 8195, 20011])('n = %i: every model count, data kind and parameter mix', (n) => {
    for (let count = 1; count <= TIES_WASM_MAX_MODELS; count++) {
      for (const kind of ['smooth', 'octaves', 'bf16', 'levels', 'zeros'] as Kind[]) {
        const { base, models } = tensors(n, count, kind);
        const params = randomParams(count);
        const want = twinOf(models, base, params);
        const label = `n ${n}, ${count} models, ${kind}, ${JSON.stringify(params)}`;
        const out = new Float32Array(n);
        tiesMerge(models, base, out, params);
        expectSameBits(out, want, `${label} (${fast!.lastPath})`);
        // The exact path alone: window passes from the whole key range, then the merge.
        const exact = new Float32Array(n);
        fast!.merge(models, base, exact, { w32: Float32Array.from(params.weights!), densities: densities(params, count), lambda: params.lambda!, normalize: params.normalize!, vote: params.consensus! }, false);
        expectSameBits(exact, want, `${label} (exact)`);
      }
    }
  });

  it('the sampler in the kernel takes the same keys as the TypeScript one', () => {
    for (const n of [3, 1030, 3 * SAMPLE_TARGET + 5]) {
      const { base, models } = tensors(n, 1, 'octaves');
      for (const [period, block] of [[SAMPLE_BLOCK, SAMPLE_BLOCK], [3 * SAMPLE_BLOCK, SAMPLE_BLOCK], [7, 5]]) {
        const ts = sampleKeysTs(models[0]!, base, period!, block!);
        const want = { keys: Uint32Array.from(ts.keys.subarray(0, ts.count)), hist: Uint32Array.from(ts.hist) };
        const got = fast!.sampler(models[0]!, base, period!, block!);
        expect(got.count).toBe(want.keys.length);
        expect(Buffer.from(got.keys.buffer, got.keys.byteOffset, 4 * got.count).equals(Buffer.from(want.keys.buffer))).toBe(true);
        expect(Buffer.from(got.hist.buffer, got.hist.byteOffset, got.hist.byteLength).equals(Buffer.from(want.hist.buffer))).toBe(true);
      }
    }
  });

  it('ties at the threshold across chunks: equal magnitudes everywhere, random signs', () => {
    for (const n of [20_003, 50_001]) {
      const base = new Float32Array(n);
      const models = [0, 1, 2].map(() => Float32Array.from({ length: n }, () => (rng.nextU32() & 1 ? 0.25 : -0.25)));
      for (const density of [0.5, 0.123, [0.9, 0.3, 0.61]]) {
        for (const consensus of ['sum', 'count'] as const) {
          const params: TiesParams = { density, consensus };
          const out = new Float32Array(n);
          tiesMerge(models, base, out, params);
          expectSameBits(out, twinOf(models, base, params), `n ${n}, density ${JSON.stringify(density)}, ${consensus}`);
        }
      }
    }
  });

  it('sampled tensors (n > 2·SAMPLE_TARGET): one speculative pass, or the exact passes where the sample misses or too much ties', () => {
    const n = 2 * SAMPLE_TARGET + 3;
    const params: TiesParams = { density: [0.5, 0.93], weights: [1, 1.6], lambda: 0.8 };
    for (const [kind, path] of [['smooth', 'speculative'], ['levels', 'exact']] as const) {
      const { base, models } = tensors(n, 2, kind);
      const out = new Float32Array(n);
      tiesMerge(models, base, out, params);
      expect(fast!.lastPath, kind).toBe(path);
      expectSameBits(out, twinOf(models, base, params), kind);
    }
    // Zero deltas in the sampled blocks, large ones elsewhere: the sample puts the cut at 0,
    // the merge pass finds far more keys above it.
    const period = SAMPLE_BLOCK * Math.floor(n / SAMPLE_TARGET);
    const base = Float32Array.from({ length: n }, (_, j) => ((j * 0.618) % 2) - 1);
    const models = [0.3, -0.7].map((s) => Float32Array.from(base, (b, j) => (j % period < SAMPLE_BLOCK ? b : b + s * Math.sin(j))));
    const out = new Float32Array(n);
    tiesMerge(models, base, out, { density: 0.4 });
    expect(fast!.lastPath).toBe('exact');
    expectSameBits(out, twinOf(models, base, { density: 0.4 }), 'missed sample');
  });

  it('out may be an input (the exact path then)', () => {
    const n = 9001;
    const { base, models } = tensors(n, 3, 'zeros');
    const params: TiesParams = { density: 0.6, weights: [1, 2, 0.5] };
    const want = twinOf(models, base, params);
    const m0 = Float32Array.from(models[0]!);
    tiesMerge([m0, models[1]!, models[2]!], base, m0, params);
    expectSameBits(m0, want, 'out = models[0]');
    const b = Float32Array.from(base);
    tiesMerge(models, b, b, params);
    expect(fast!.lastPath).toBe('exact');
    expectSameBits(b, want, 'out = base');
  });
});

function densities(params: TiesParams, count: number): number[] {
  const d = params.density ?? 1;
  return typeof d === 'number' ? new Array<number>(count).fill(d) : [...d];
}
