/**
 * Which tier V8 compiles WebAssembly with in the CLI. onnxruntime-web's wasm module is 27 MB,
 * and V8 compiles all of it with TurboFan in the background: on 2 cores that holds a run (a
 * sample's `eval --runtime web` took 2.4 s on Liftoff alone, 34 s with both tiers, measured
 * here), while its Liftoff code scores as fast (the hot loops are MLAS SIMD kernels). The
 * population's own kernels (the DE step, the merges, the kinship sums) run 1.5–3× faster once
 * TurboFan has them (BENCHMARKS.md). So the CLI keeps both tiers while it scores on
 * onnxruntime-node (the default), and holds the wasm compiled from then on to Liftoff once
 * onnxruntime-web's WASM is the runtime (--runtime web, or onnxruntime-node not loading).
 */
import v8 from 'node:v8';

let baselineOnly = false;

/** Wasm compiled from now on stays on Liftoff (V8's baseline tier); idempotent. */
export function keepWasmOnLiftoff(): void {
  if (baselineOnly) return;
  baselineOnly = true;
  v8.setFlagsFromString('--liftoff-only');
}
