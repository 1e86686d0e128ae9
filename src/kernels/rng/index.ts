/**
 * Counter-based RNG: CPU functions, the host-side CounterRng and the WGSL snippet.
 * No GPU encoder: shaders include rngWgsl() themselves.
 */
export {
  CounterRng,
  RngRangeError,
  mix32,
  probabilityThreshold,
  randomU32,
  randomU32Keyed,
  randomUnit,
  rngKey,
  RNG_UNIT_BITS,
  RNG_UNIT_SCALE,
} from './rng.cpu';
export { rngWgsl } from './rng.wgsl';
