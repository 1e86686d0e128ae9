/**
 * DARE's norm-keeping rescale (mergekit's: each masked task vector keeps the L1 or L2 norm
 * of the whole one; unscaled when either norm is below 1e-7) on the GPU: per tensor and
 * model, the dare contribution pass writes the masked τ (weight 1, no rescale) into a
 * scratch buffer, and the shared tiled reduction sums (|τ|, |τ̃|, τ², τ̃²) into one vec4,
 * 16 bytes read back per model and tensor (never a weight). The host turns the sums into
 * the per-model scales encodeDare applies. Twin of dareNormScales in dare.cpu.ts (sums here
 * in f32 by a tree, there in f64: the scales agree to f32 rounding).
 */
import { createWeightBuffer } from '../../gpu/buffers';
import { createReductionResults, createReductionScratch, encodeReduction, readReductionResults } from '../reduction/index';
import { REDUCTION_PRODUCTS_UNIFORMS_WGSL, tiledReductionMainWgsl } from '../reduction/reduction.wgsl';
import { DARE_RESCALE_EPS } from './dare.cpu';
import { dareMasks } from './params';
import { encodeAccumulate } from './task-vector-passes';

export interface DareNormJob {
  models: readonly GPUBuffer[];
  base: GPUBuffer;
  size: number;
  /** The tensor's RNG counter base (its offset in the flat layout). */
  offset: number;
  densities: readonly number[];
  seed: number;
}

let code: string | undefined;
const spec = () => ({
  name: 'dare norms',
  lanes: 1,
  code: (code ??= /* wgsl */ `${REDUCTION_PRODUCTS_UNIFORMS_WGSL}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> base: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params: ReductionUniforms;
${tiledReductionMainWgsl(1, 'params.n', `let t = x[i] - base[i];
      let k = y[i];
      s[0] = s[0] + vec4<f32>(abs(t), abs(k), t * t, k * k);`)}`),
});

/** Per job, per model: the factor that gives the masked τ the norm of τ (1 at density ≥ 1 or below the eps). */
export async function dareNormScalesGpu(device: GPUDevice, jobs: readonly DareNormJob[], norm: 'l1' | 'l2'): Promise<number[][]> {
  const items = jobs.reduce((n, j) => n + j.models.length, 0);
  if (items === 0) return jobs.map(() => []);
  const largest = Math.max(...jobs.map((j) => j.size));
  const modelCount = Math.max(...jobs.map((j) => j.models.length));
  const kept = Array.from({ length: modelCount }, (_, i) => createWeightBuffer(device, largest, `dare kept τ[${i}]`));
  const scratch = createReductionScratch(device, largest, 1);
  const results = createReductionResults(device, items, 1, `dare norms[${items}]`);
  try {
    const encoder = device.createCommandEncoder({ label: 'dare norms' });
    let index = 0;
    for (const job of jobs) {
      const masks = dareMasks(job.densities, job.seed, false);
      job.models.forEach((m, i) => {
        encodeAccumulate(device, encoder, 'dare', kept[i]!, m, job.base, null, job.size, { weight: 1, first: true, mask: masks[i]!, offset: job.offset }, {});
        encodeReduction(device, encoder, spec(), { inputs: [m, kept[i]!, job.base], elementCount: job.size, results, resultIndex: index++, scratch });
      });
    }
    device.queue.submit([encoder.finish()]);
    const sums = await readReductionResults(device, results, items, 1);
    index = 0;
    return jobs.map((job) =>
      job.models.map((_, i) => {
        const s = sums[index++]!;
        const [before, after] = norm === 'l1' ? [s[0]!, s[1]!] : [Math.sqrt(s[2]!), Math.sqrt(s[3]!)];
        return job.densities[i]! >= 1 || before < DARE_RESCALE_EPS || after < DARE_RESCALE_EPS ? 1 : Math.fround(before / after);
      }),
    );
  } finally {
    for (const b of kept) b.destroy();
    scratch.destroy();
    results.destroy();
  }
}
