/**
 * Kinship moments shader: a tiled tree reduction (reduction.wgsl.ts) into two vec4
 * lanes per partial, (Σa, Σb, Σab, Σa²) and (Σb², Σ(x − y)², 0, 0), where a = x − c,
 * b = y − c for the reference c (omitted: c = 0). Twin of kinship.cpu.ts.
 *
 * Bindings: 0 x, 1 y, [2 reference], then partials (read_write) and the params uniform
 * (dynamic offset). The sum passes are reduction.wgsl.ts's generic two-lane pass.
 */
import { REDUCTION_PER_THREAD, REDUCTION_PRODUCTS_UNIFORMS_WGSL, tiledReductionMainWgsl } from '../reduction/reduction.wgsl';
import { WORKGROUP_SIZE } from '../shared.wgsl';

/** vec4 lanes per partial and per result. */
export const KINSHIP_LANES = 2;

export function kinshipMomentsWgsl(withReference: boolean, workgroupSize: number = WORKGROUP_SIZE, perThread: number = REDUCTION_PER_THREAD): string {
  const partialsBinding = withReference ? 3 : 2;
  return /* wgsl */ `${REDUCTION_PRODUCTS_UNIFORMS_WGSL}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
${withReference ? '@group(0) @binding(2) var<storage, read> reference: array<f32>;' : ''}
@group(0) @binding(${partialsBinding}) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(${partialsBinding + 1}) var<uniform> params: ReductionUniforms;
${tiledReductionMainWgsl(
  KINSHIP_LANES,
  'params.n',
  `let xi = x[i];
      let yi = y[i];
      let c = ${withReference ? 'reference[i]' : '0.0'};
      let a = xi - c;
      let b = yi - c;
      let d = xi - yi;
      s[0] = s[0] + vec4<f32>(a, b, a * b, a * a);
      s[1] = s[1] + vec4<f32>(b * b, d * d, 0.0, 0.0);`,
  workgroupSize,
  perThread,
)}`;
}
