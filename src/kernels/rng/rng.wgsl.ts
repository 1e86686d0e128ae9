/**
 * WGSL twin of rng.cpu.ts: the same counter-based hash, built from the same TS
 * constants so the two cannot drift. Prepend rngWgsl() to any shader that needs
 * random numbers; rng.test.ts checks bit-exact agreement with the CPU twin.
 *
 * Exposes:
 *   fn rng_mix32(x: u32) -> u32
 *   fn rng_key(seed: u32, stream: u32) -> vec2<u32>
 *   fn random_u32_keyed(key: vec2<u32>, counter: u32) -> u32
 *   fn random_u32(seed: u32, stream: u32, counter: u32) -> u32
 *   fn random_unit(seed: u32, stream: u32, counter: u32) -> f32   // [0, 1), 24 bits
 */
import { wgslU32 } from '../shared.wgsl';
import { RNG_KEY_SALT, RNG_MIX_M1, RNG_MIX_M2, RNG_SEED_SALT, RNG_UNIT_BITS } from './rng.cpu';

export function rngWgsl(): string {
  return /* wgsl */ `
fn rng_mix32(value: u32) -> u32 {
  var x = value;
  x ^= x >> 16u;
  x *= ${wgslU32(RNG_MIX_M1)};
  x ^= x >> 15u;
  x *= ${wgslU32(RNG_MIX_M2)};
  x ^= x >> 16u;
  return x;
}

fn rng_key(seed: u32, stream: u32) -> vec2<u32> {
  let k0 = rng_mix32(rng_mix32(seed ^ ${wgslU32(RNG_SEED_SALT)}) ^ stream);
  let k1 = rng_mix32(k0 ^ ${wgslU32(RNG_KEY_SALT)});
  return vec2<u32>(k0, k1);
}

fn random_u32_keyed(key: vec2<u32>, counter: u32) -> u32 {
  return rng_mix32(rng_mix32(counter ^ key.x) + key.y);
}

fn random_u32(seed: u32, stream: u32, counter: u32) -> u32 {
  return random_u32_keyed(rng_key(seed, stream), counter);
}

fn random_unit(seed: u32, stream: u32, counter: u32) -> f32 {
  return f32(random_u32(seed, stream, counter) >> ${32 - RNG_UNIT_BITS}u) * (1.0 / ${2 ** RNG_UNIT_BITS}.0);
}
`;
}
