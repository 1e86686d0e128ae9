#!/usr/bin/env node
// `node tools/build-wasm.mjs`: assembles the hand-written WAT kernels with wabt (a devDependency)
// into committed generated modules, the bytes as base64, so the browser and Node need no wabt at
// run time. Tests (src/kernels/de-step/de-step.wasm.test.ts, linear-combine.wasm.test.ts) re-assemble
// and check the committed bytes are current: run this after editing a *.wat.ts file.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Each kernel: its WAT source module, the export building the text, the generated file. */
const KERNELS = [
  { source: 'src/kernels/de-step/de-step.wat.ts', build: 'deStepWat', out: 'src/kernels/de-step/de-step.wasm.gen.ts', name: 'DE_STEP_WASM_BASE64' },
  { source: 'src/kernels/linear-combine/linear-combine.wat.ts', build: 'linearCombineWat', out: 'src/kernels/linear-combine/linear-combine.wasm.gen.ts', name: 'LINEAR_COMBINE_WASM_BASE64' },
  // The kernels a population split over threads runs (src/kernels/threads), on a shared memory.
  { source: 'src/kernels/de-step/de-step.wat.ts', build: 'deStepWat', out: 'src/kernels/de-step/de-step.shared.wasm.gen.ts', name: 'DE_STEP_SHARED_WASM_BASE64', shared: true },
  { source: 'src/kernels/linear-combine/linear-combine.wat.ts', build: 'linearCombineWat', out: 'src/kernels/linear-combine/linear-combine.shared.wasm.gen.ts', name: 'LINEAR_COMBINE_SHARED_WASM_BASE64', shared: true },
  { source: 'src/kernels/ties-fast/ties-fast.wat.ts', build: 'tiesFastWat', out: 'src/kernels/ties-fast/ties-fast.wasm.gen.ts', name: 'TIES_FAST_WASM_BASE64' },
  { source: 'src/merge/stream-bf16.wat.ts', build: 'streamBf16Wat', out: 'src/merge/stream-bf16.wasm.gen.ts', name: 'STREAM_BF16_WASM_BASE64' },
  { source: 'src/kernels/staged-merges/staged-merges.wat.ts', build: 'stagedMergesWat', out: 'src/kernels/staged-merges/staged-merges.wasm.gen.ts', name: 'STAGED_MERGES_WASM_BASE64' },
  { source: 'src/kernels/staged-merges/staged-merges.wat.ts', build: 'stagedMergesWat', out: 'src/kernels/staged-merges/staged-merges.shared.wasm.gen.ts', name: 'STAGED_MERGES_SHARED_WASM_BASE64', shared: true },
];

const mod = await tsImport(pathToFileURL(path.join(ROOT, 'src/kernels/de-step/de-step.assemble.ts')).href, import.meta.url);
for (const kernel of KERNELS) {
    const source = await tsImport(pathToFileURL(path.join(ROOT, kernel.source)).href, import.meta.url);
  const text = source[kernel.build]();
  const bytes = await mod.assembleWat(kernel.shared ? mod.sharedMemoryWat(text) : text, path.basename(kernel.source));
  const base64 = Buffer.from(bytes).toString('base64');
  writeFileSync(path.join(ROOT, kernel.out), mod.generatedModule(kernel.name, kernel.source, base64));
  process.stderr.write(`${kernel.out}: ${bytes.length} bytes\n`);
}
