/**
 * DE step shader: mutation v = b + F·(p − m), binomial crossover with the target x and
 * a forced jRand (the variants are choices of b, p, m: see de-step.cpu.ts).
 * Twin of de-step.cpu.ts; the crossover draw is random_u32_keyed(key, offset + i) from
 * rng.wgsl.ts, with the (seed, stream) key computed once on the host (rngKey).
 *
 * Bindings: 0 target, 1 base, 2 plus, 3 minus (read; one buffer may fill several),
 * 4 out (read_write), 5 params (uniform, dynamic offset). out must be a different buffer
 * from the inputs (WebGPU forbids a writable binding aliasing a read-only one).
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

@group(0) @binding(0) var<storage, read> target_values: array<f32>;
@group(0) @binding(1) var<storage, read> base_values: array<f32>;
@group(0) @binding(2) var<storage, read> plus_values: array<f32>;
@group(0) @binding(3) var<storage, read> minus_values: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_values: array<f32>;
@group(0) @binding(5) var<uniform> params: DeStepUniforms;
${rngWgsl()}
${elementwiseMainWgsl({
    workgroupSize,
    body: /* wgsl */ `
  let g = params.offset + i;
  let draw = random_u32_keyed(vec2<u32>(params.key0, params.key1), g);
  let take = (draw >> ${32 - RNG_UNIT_BITS}u) < params.cr_threshold || g == params.j_rand;
  if (take) {
    out_values[i] = base_values[i] + params.f * (plus_values[i] - minus_values[i]);
  } else {
    out_values[i] = target_values[i];
  }`,
  })}`;
}
