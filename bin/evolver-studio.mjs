#!/usr/bin/env node
// Entry point of `npx evolver-studio`: runs the TypeScript CLI (cli/main.ts) through tsx,
// so the CLI and the studio share one source tree without a separate build step.
import v8 from 'node:v8';
import { register } from 'tsx/esm/api';

// onnxruntime-web ships a 27 MB wasm module. By default V8 also compiles all of it with
// TurboFan in the background, which on a 2-core machine competes with the run and holds
// the process ~30 s at exit; measured here, the baseline (Liftoff) code scores dev sets
// just as fast (the hot loops are MLAS SIMD kernels), so keep to Liftoff.
v8.setFlagsFromString('--liftoff-only');
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
