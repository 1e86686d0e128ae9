import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleWat, generatedModule } from '../de-step/de-step.assemble';
import { THREAD_CHUNK } from '../threads/chunked-call';
import { CounterRng, probabilityThreshold, randomU32Keyed, rngKey } from '../rng/rng.cpu';
import { seededFloats } from '../testing';
import { expectSameBits } from './bits.testing';
import { scaleAddReference } from './spherical-stock.reference';
import { STAGED_MERGES_WASM_BASE64 } from './staged-merges.wasm.gen';
import { stagedMerges, stagedPairs, STAGED_BLOCK } from './staged-merges.wasm';
import { stagedMergesWat } from './staged-merges.wat';

const rng = new CounterRng(0x57a9, 2);

describe('staged merge kernels (WebAssembly SIMD)', () => {
  it('the committed module is the assembled WAT', async () => {
    const bytes = await assembleWat(stagedMergesWat(), 'staged-merges.wat.ts');
    const base64 = Buffer.from(bytes).toString('base64');
    expect(STAGED_MERGES_WASM_BASE64).toBe(base64);
    const committed = readFileSync(new URL('./staged-merges.wasm.gen.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generatedModule('STAGED_MERGES_WASM_BASE64', 'src/kernels/staged-merges/staged-merges.wat.ts', base64));
  });

  it('is available in Node (the fast paths the kernel tests compare are really taken)', () => {
    expect(stagedMerges()).not.toBeNull();
    expect(stagedMerges(4095)).toBeNull();
  });

  it('dare_mask: keep exactly where (randomU32Keyed >>> 8) < threshold, across the i32 wrap of the counters', () => {
    const kernel = stagedMerges()!;
    for (const len of [1, 3, 4, 5, 2047, STAGED_BLOCK]) {
      for (const first of [0, rng.nextU32(), 2 ** 31 - 2, 2 ** 32 - len]) {
        const [k0, k1] = rngKey(rng.nextU32(), rng.nextInt(8));
        const threshold = probabilityThreshold(rng.nextUnit());
        const mask = kernel.dareMask(len, first, k0, k1, threshold);
        for (let j = 0; j < len; j++) {
          const keep = randomU32Keyed(k0, k1, (first + j) >>> 0) >>> 8 < threshold ? -1 : 0;
          if (mask[j] !== keep) expect(`len ${len}, first ${first}, element ${j}: ${mask[j]}`).toBe(`${keep}`);
        }
      }
    }
  });

  it('dareNorms: Σ|τ| and Σ|τ̃| (l1) or their squares (l2) in f64, four lanes (j mod 4) within each thread chunk, the chunks added in order', () => {
    const kernel = stagedMerges()!;
    for (const n of [1, 6, 7, STAGED_BLOCK + 4099, 2 * THREAD_CHUNK + 4097]) {
      const base = seededFloats(rng, n, 1e-3, 4);
      const models = [0, 1].map(() => base.map((b) => b + seededFloats(rng, 1, 1e-5, 3)[0]!));
      const masks = models.map((_, i) => {
        const [key0, key1] = rngKey(rng.nextU32(), i);
        return { key0, key1, threshold: probabilityThreshold(0.3 + 0.4 * rng.nextUnit()) };
      });
      const offset = 2 ** 32 - n - rng.nextInt(3);
      for (const norm of ['l1', 'l2'] as const) {
        const got = kernel.dareNorms(models, base, masks, offset, norm);
        models.forEach((m, i) => {
          const { key0, key1, threshold } = masks[i]!;
          const sums = [0, 0];
          for (let start = 0; start < n; start += THREAD_CHUNK) {
            const before = [0, 0, 0, 0];
            const after = [0, 0, 0, 0];
            for (let j = start; j < Math.min(n, start + THREAD_CHUNK); j++) {
              const tau = Math.abs(Math.fround(m[j]! - base[j]!));
              const kept = randomU32Keyed(key0, key1, (offset + j) >>> 0) >>> 8 < threshold ? tau : 0;
              before[j % 4]! += norm === 'l1' ? tau : tau * tau;
              after[j % 4]! += norm === 'l1' ? kept : kept * kept;
            }
            sums[0]! += before[0]! + before[1]! + (before[2]! + before[3]!);
            sums[1]! += after[0]! + after[1]! + (after[2]! + after[3]!);
          }
          expect(got[i], `${n} floats, ${norm}, model ${i}`).toEqual(sums);
        });
      }
    }
  });

  it('weightedSum: the scale-add passes\' bits for 1 to 11 inputs (fused up to 9, pass by pass beyond)', () => {
    const kernel = stagedMerges()!;
    const n = 16384 + 4096 + 3;
    for (let count = 1; count <= 11; count++) {
      const inputs = Array.from({ length: count }, () => seededFloats(rng, n, 1e-3, 4));
      const weights = inputs.map(() => Math.fround(2 * rng.nextUnit() - 1));
      const want = new Float32Array(n);
      inputs.forEach((x, k) => scaleAddReference(want, x, k === 0 ? 0 : 1, weights[k]!));
      const out = new Float32Array(n).fill(NaN);
      kernel.weightedSum(out, inputs, weights);
      expectSameBits(out, want, `${count} inputs`);
    }
  });

  it('pairs in model stock order', () => {
    expect(stagedPairs(4)).toEqual([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  });
});
