/**
 * DE step shader: mutation v = x + F·(d − x), binomial crossover with a forced jRand.
 * Twin of de-step.cpu.ts; the crossover draw is random_u32_keyed(key, offset + i) from
 * rng.wgsl.ts, with the (seed, stream) key computed once on the host (rngKey).
 *
 * Bindings: 0 parent (read), 1 donor (read), 2 out (read_write), 3 params (uniform,
 * dynamic offset). out must be a different buffer from parent and donor (WebGPU forbids
 * a writable binding aliasing a read-only one in one dispatch).
 */
import { rngWgsl } from '../rng/rng.wgsl';
import { RNG_UNIT_BITS } from '../rng/rng.cpu';
import { elementwiseMainWgsl, WORKGROUP_SIZE } from '../shared.wgsl';

/** Byte size of the DeStepUniforms struct; the field order is fixed by packDeStepUniforms (index.ts). */
export const DE_STEP_UNIFORM_BYTES = 32;

export function deStepWgsl(workgroupSize: number = WORKGROUP_SIZE): string {
  return /* wgsl */ `
struct DeStepUniforms {
  f: f32,
  cr_threshold: u32,  // (draw >> ${32 - RNG_UNIT_BITS}) < cr_threshold  ⇔  random_unit < CR
  key0: u32,
  key1: u32,
  offset: u32,        // global index of element 0 of this binding
  j_rand: u32,        // global index forced to the mutant; 0xffffffff = none
  n: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> parent: array<f32>;
@group(0) @binding(1) var<storage, read> donor: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_values: array<f32>;
@group(0) @binding(3) var<uniform> params: DeStepUniforms;
${rngWgsl()}
${elementwiseMainWgsl({
    workgroupSize,
    body: /* wgsl */ `
  let g = params.offset + i;
  let x = parent[i];
  let draw = random_u32_keyed(vec2<u32>(params.key0, params.key1), g);
  let take = (draw >> ${32 - RNG_UNIT_BITS}u) < params.cr_threshold || g == params.j_rand;
  if (take) {
    out_values[i] = x + params.f * (donor[i] - x);
  } else {
    out_values[i] = x;
  }`,
  })}`;
}
