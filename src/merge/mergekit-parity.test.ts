/**
 * mergekit parity: the CLI's merge (cli/main.ts, in process) on the checkpoints of
 * src/merge/fixtures/mergekit, held tensor by tensor to what mergekit's formulas give
 * (tools/fixtures/make_mergekit_fixtures.py writes both; run it by hand to change them).
 * F32 tensors to float32 rounding, BF16 ones to one bfloat16 step, the I64 tensor byte for
 * byte and every tensor in its input dtype.
 *
 * Known differences from mergekit, none of which these fixtures reach (documented in the
 * methods and kernels):
 * - TIES's k is round(density·n), mergekit floors it (every k here is whole);
 * - breadcrumbs with int(γ·n) = 0: mergekit keeps nothing, the studio keeps the band;
 * - magnitude ties rank in index order; mergekit's torch sort leaves their order open;
 * - random drops (DARE at density < 1) use the project's counter RNG, not torch's;
 * - arithmetic is f32 (sums f64) rounded once to the output dtype; mergekit computes in
 *   the working dtype (bf16 inputs: bf16 arithmetic unless `dtype: float32`);
 * - SLERP of a tensor whose norm is ≤ 1e-8 lerps; mergekit takes an arbitrary 90° arc;
 * - DELLA's random keeps (0 < density < 1) use the counter RNG: the fixtures hold densities
 *   0 and 1, and the keep rates per rank and the L1 rescale are held statistically below;
 * - NuSLERP lerps below |sin θ| < 1e-3, mergekit below 1e-8 (< 1e-6 relative apart there);
 * - karcher reads no base; mergekit gathers a base_model as one more model (no case has one);
 * - SCE's keep count int(select_topk·#nonzero) is a float64 product, torch's a float32 one.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { readSafetensors } from '../formats/safetensors-read';
import { tensorToFloat32 } from '../formats/safetensors-float';
import { dareMerge } from '../kernels/task-vector/dare.cpu';
import { dellaMerge, dellaPlan, dellaRanks, rankAxis } from '../kernels/task-vector/della.cpu';

const DIR = path.resolve(import.meta.dirname, 'fixtures/mergekit');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mergekit-parity-'));

interface Case {
  id: string;
  flags: string[];
  models: string[];
  base: string | null;
  expected: string;
  notes: string;
}
interface Manifest {
  dtypes: Record<string, string>;
  cases: Case[];
}
const manifest = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;
const read = (file: string) => readSafetensors(new Uint8Array(readFileSync(file)), file);
const inputs = ['base.safetensors', 'a.safetensors', 'b.safetensors', 'c.safetensors'].map((f) => read(path.join(DIR, f)));
const largest = new Map<string, number>();
for (const file of inputs) for (const t of file.tensors) if (t.dtype !== 'I64') largest.set(t.name, Math.max(largest.get(t.name) ?? 0, ...Array.from(tensorToFloat32(t), Math.abs)));

async function cliMerge(args: string[]): Promise<number> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return await main(['merge', '--device', 'cpu', ...args]);
  } finally {
    write.mockRestore();
  }
}

describe("mergekit parity: the CLI's merges against mergekit's formulas", () => {
  it.each(manifest.cases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const out = path.join(tmp, `${c.id}.safetensors`);
    const base = c.base ? ['--base', path.join(DIR, c.base)] : [];
    expect(await cliMerge([...c.flags, ...base, '--out', out, ...c.models.map((m) => path.join(DIR, m))])).toBe(0);
    const got = new Map(read(out).tensors.map((t) => [t.name, t]));
    const want = read(path.join(DIR, c.expected));
    for (const w of want.tensors) {
      const g = got.get(w.name);
      expect(g, `${c.id}: ${w.name} written`).toBeDefined();
      expect(g!.dtype, `${c.id}: ${w.name} keeps its input dtype`).toBe(manifest.dtypes[w.name]);
      const values = tensorToFloat32(g!);
      const expected = tensorToFloat32(w);
      const scale = largest.get(w.name)!;
      for (let i = 0; i < expected.length; i++) {
        const e = expected[i]!;
        const tol = g!.dtype === 'BF16' ? Math.abs(e) * 2 ** -7 : 4 * 2 ** -23 * (Math.abs(e) + scale);
        if (!(Math.abs(values[i]! - e) <= tol)) expect.fail(`${c.id}: ${w.name}[${i}] = ${values[i]}, mergekit's formula gives ${e} (${c.notes})`);
      }
    }
    // Integer tensors come through from the base (or the first model) as they are stored.
    const ids = got.get('position_ids');
    expect(ids?.dtype).toBe('I64');
    expect(Array.from(new BigInt64Array(ids!.data.slice().buffer))).toEqual(Array.from({ length: 8 }, (_, i) => BigInt(i)));
  });
});

describe('DARE rescale as mergekit', () => {
  const base = new Float32Array(4096).map((_, i) => Math.sin(i));
  const model = base.map((b, i) => b + 0.01 * Math.cos(3 * i) * (i % 7 === 0 ? 10 : 1));
  const l1 = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);

  it('keeps each task vector’s L1 norm by default-of-the-methods (l1), 1/p when asked, nothing below 1e-7', () => {
    const out = new Float32Array(base.length);
    dareMerge([model], base, out, { density: 0.3, seed: 5, rescaleNorm: 'l1' });
    expect(l1(out, base)).toBeCloseTo(l1(model, base), 3);
    dareMerge([model], base, out, { density: 0.3, seed: 5, rescale: false });
    const dropped = l1(out, base);
    expect(dropped).toBeLessThan(0.5 * l1(model, base));
    dareMerge([model], base, out, { density: 0.3, seed: 5, rescaleNorm: 'density' });
    expect(l1(out, base) / dropped).toBeCloseTo(1 / 0.3, 3);
    const tiny = base.map((b, i) => b + (i === 3 ? 1e-9 : 0));
    dareMerge([tiny], base, out, { density: 0.3, seed: 5, rescaleNorm: 'l1' });
    expect(l1(out, base)).toBeLessThanOrEqual(l1(tiny, base) * 1.0001);
  });
});

describe('DELLA drops as mergekit (della_magprune), statistically', () => {
  // [rows, L]: mergekit ranks along axis 1, within each row; p(rank r) = (d − ε) + 2ε(r − 1)/(L − 1).
  const rows = 4000;
  const L = 8;
  const base = new Float32Array(rows * L).map((_, i) => Math.sin(i));
  // Row magnitudes in a shuffled order, so that rank and column differ from row to row.
  const model = base.map((b, i) => b + (i % 2 ? -1 : 1) * 0.01 * (1 + (((Math.floor(i / L) * 5 + (i % L)) * 3) % L)));
  const l1 = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);

  it('keeps each magnitude rank at its probability, along axis 1', () => {
    const { keeps } = dellaPlan([model], base, { density: 0.5, epsilon: 0.2, seed: 11, dims: [rows, L] });
    const ranks = dellaRanks(model, base, rankAxis([rows, L], base.length));
    const kept = new Array<number>(L).fill(0);
    for (let j = 0; j < base.length; j++) kept[ranks[j]!]! += keeps[0]![j]!;
    for (let r = 0; r < L; r++) {
      const p = 0.5 - 0.2 + (2 * 0.2 * r) / (L - 1);
      expect(Math.abs(kept[r]! / rows - p), `rank ${r + 1}`).toBeLessThan(4.5 * Math.sqrt((p * (1 - p)) / rows));
    }
  });

  it('rescales the survivors to the task vector’s L1 norm (della_linear, weight 1), not without rescale', () => {
    const out = new Float32Array(base.length);
    const params = { density: 0.4, epsilon: 0.1, seed: 3, dims: [rows, L], consensus: 'none' as const, normalize: false };
    dellaMerge([model], base, out, params);
    expect(l1(out, base) / l1(model, base)).toBeCloseTo(1, 4);
    dellaMerge([model], base, out, { ...params, rescale: false });
    // Without rescale about Σ_r p(r)·|τ_r| of it survives: more than density, since large ranks keep more.
    const kept = l1(out, base) / l1(model, base);
    expect(kept).toBeGreaterThan(0.4);
    expect(kept).toBeLessThan(0.55);
  });
});
