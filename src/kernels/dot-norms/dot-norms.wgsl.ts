/**
 * Dot-norms shaders: a tiled tree reduction of (x·y, x·x, y·y) into one-lane vec4
 * partials (see reduction.wgsl.ts), then the generic sum pass until one vec4 remains.
 * Twin of dot-norms.cpu.ts. The 4th component only pads to 16 bytes.
 *
 * Products pass bindings: 0 x, 1 y, [2 base], then partials (read_write, the whole
 * buffer, written at out_index + group) and the params uniform (dynamic offset).
 * Sum pass bindings: 0 input partials (read, whole buffer), 1 output partials, 2 params.
 */
import {
  REDUCTION_LANE_BYTES,
  REDUCTION_PER_THREAD,
  REDUCTION_PRODUCTS_UNIFORMS_WGSL,
  REDUCTION_TILE,
  REDUCTION_UNIFORM_BYTES,
  tiledReductionMainWgsl,
  tiledSumWgsl,
} from '../reduction/reduction.wgsl';
import { WORKGROUP_SIZE } from '../shared.wgsl';

export const DOT_NORMS_PER_THREAD = REDUCTION_PER_THREAD;
export const DOT_NORMS_TILE = REDUCTION_TILE;
export const DOT_NORMS_UNIFORM_BYTES = REDUCTION_UNIFORM_BYTES;
/** Bytes per partial and per result: one vec4<f32>. */
export const DOT_NORMS_PARTIAL_BYTES = REDUCTION_LANE_BYTES;

/** First pass over the tensors; withBase reads a third tensor and reduces differences from it. */
export function dotNormsProductsWgsl(withBase: boolean, workgroupSize: number = WORKGROUP_SIZE, perThread: number = DOT_NORMS_PER_THREAD): string {
  const partialsBinding = withBase ? 3 : 2;
  return /* wgsl */ `${REDUCTION_PRODUCTS_UNIFORMS_WGSL}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
${withBase ? '@group(0) @binding(2) var<storage, read> base: array<f32>;' : ''}
@group(0) @binding(${partialsBinding}) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(${partialsBinding + 1}) var<uniform> params: ReductionUniforms;
${tiledReductionMainWgsl(
  1,
  'params.n',
  `${withBase ? 'let c = base[i];\n      let a = x[i] - c;\n      let b = y[i] - c;' : 'let a = x[i];\n      let b = y[i];'}
      s[0] = s[0] + vec4<f32>(a * b, a * a, b * b, 0.0);`,
  workgroupSize,
  perThread,
)}`;
}

/** Sum pass over one-lane partials. */
export function dotNormsSumWgsl(workgroupSize: number = WORKGROUP_SIZE, perThread: number = DOT_NORMS_PER_THREAD): string {
  return tiledSumWgsl(1, workgroupSize, perThread);
}
