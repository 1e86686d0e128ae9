#!/usr/bin/env node
// Entry point of `npx evolver-studio`: runs the TypeScript CLI (cli/main.ts) through tsx,
// so the CLI and the studio share one source tree without a separate build step.
// V8's wasm tiers: both, unless the run scores on onnxruntime-web's WASM (cli/wasm-tiering.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
