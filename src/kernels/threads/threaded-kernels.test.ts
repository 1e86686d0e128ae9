import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { assembleWat, generatedModule, sharedMemoryWat } from '../de-step/de-step.assemble';
import { DE_STEP_SHARED_WASM_BASE64 } from '../de-step/de-step.shared.wasm.gen';
import { DeStepWasm } from '../de-step/de-step.wasm';
import { deStepWat } from '../de-step/de-step.wat';
import { LINEAR_COMBINE_SHARED_WASM_BASE64 } from '../linear-combine/linear-combine.shared.wasm.gen';
import { LinearCombineWasm } from '../linear-combine/linear-combine.wasm';
import { linearCombineWat } from '../linear-combine/linear-combine.wat';
import { CounterRng } from '../rng/rng.cpu';
import { STAGED_MERGES_SHARED_WASM_BASE64 } from '../staged-merges/staged-merges.shared.wasm.gen';
import { stagedMergesWat } from '../staged-merges/staged-merges.wat';
import { firstBitMismatch, seededFloats } from '../testing';
import { chunkArgs, type ChunkedCall } from './chunked-call';
import { KernelThreads, markKernelThreadLost, THREADED_MIN_FLOATS } from './kernel-threads';
import { isSharedMemory, threadedKernelTable } from './threaded-kernels';

describe('threaded kernels: the shared-memory builds', () => {
  it.each([
    ['de-step', deStepWat, DE_STEP_SHARED_WASM_BASE64, 'DE_STEP_SHARED_WASM_BASE64', '../de-step/de-step.shared.wasm.gen.ts', 'src/kernels/de-step/de-step.wat.ts'],
    ['linear-combine', linearCombineWat, LINEAR_COMBINE_SHARED_WASM_BASE64, 'LINEAR_COMBINE_SHARED_WASM_BASE64', '../linear-combine/linear-combine.shared.wasm.gen.ts', 'src/kernels/linear-combine/linear-combine.wat.ts'],
    ['staged-merges', stagedMergesWat, STAGED_MERGES_SHARED_WASM_BASE64, 'STAGED_MERGES_SHARED_WASM_BASE64', '../staged-merges/staged-merges.shared.wasm.gen.ts', 'src/kernels/staged-merges/staged-merges.wat.ts'],
  ] as const)('the committed %s module is the current assembly, importing a shared memory', async (_name, wat, committed, exportName, file, source) => {
    const text = sharedMemoryWat(wat());
    expect(text).toContain('(memory 0 65536 shared)');
    const base64 = Buffer.from(await assembleWat(text, source)).toString('base64');
    expect(base64).toBe(committed);
    expect(readFileSync(new URL(file, import.meta.url), 'utf8')).toBe(generatedModule(exportName, source, base64));
  });

  it('sharedMemoryWat refuses text without exactly one memory import', () => {
    expect(() => sharedMemoryWat('(module)')).toThrow(/found 0/);
  });

  it('instantiates on a shared memory only, and names every export by module', () => {
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const plain = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    expect(isSharedMemory(shared)).toBe(true);
    expect(isSharedMemory(plain)).toBe(false);
    const table = threadedKernelTable(shared, new Float64Array(1))!;
    expect([...table.keys()]).toEqual(expect.arrayContaining(['de-step.trial', 'de-step.mutant', 'linear-combine.linear_3', 'linear-combine.task_arithmetic_8', 'linear-combine.update']));
    expect(() => threadedKernelTable(plain, new Float64Array(1))).toThrow();
    // One thread asks for no pool.
    expect(KernelThreads.open(shared, 1, () => ({ close() {} }))).toBeNull();
    expect(KernelThreads.open(plain, 2, () => ({ close() {} }))).toBeNull();
  });

  it('a thread lost at its start leaves every later call on the calling thread, with the same bits', () => {
    const n = THREADED_MIN_FLOATS + 5;
    const memory = new WebAssembly.Memory({ initial: 96, maximum: 96, shared: true });
    let closed = 0;
    // The environment reports the thread lost before it claims anything.
    const pool = KernelThreads.open(memory, 2, (_workers, _memory, control) => {
      markKernelThreadLost(control);
      return { close: () => closed++ };
    })!;
    expect(pool.takes(n)).toBe(false);
    const view = (k: number) => new Float32Array(memory.buffer, 4 * k * n, n);
    const data = new CounterRng(7, 1);
    [0, 1, 2].forEach((k) => view(k).set(seededFloats(data, n)));
    LinearCombineWasm.create(memory, pool)!.linear(view(3), [view(0), view(1), view(2)], new Float32Array([0.5, 0.25, 0.25]), 1);
    LinearCombineWasm.create(memory)!.linear(view(4), [view(0), view(1), view(2)], new Float32Array([0.5, 0.25, 0.25]), 1);
    expect(firstBitMismatch(view(3), view(4))).toBe(-1);
    expect(pool.chunks.workers).toBe(0);
    pool.close();
    expect(closed).toBe(1);
  });

  it('a chunk advances the addresses by 4 bytes a float, sets its length and advances the counter', () => {
    const call: ChunkedCall = { fn: 'x.y', args: [1000, 2000, 9, 0.5, 77], pointers: [0, 1], lengthArg: 2, counterArg: 4, n: 9 };
    expect(chunkArgs(call, 4, 3, [])).toEqual([1016, 2016, 3, 0.5, 81]);
    expect(chunkArgs({ ...call, counterArg: undefined }, 8, 1, [])).toEqual([1032, 2032, 1, 0.5, 77]);
  });

  it('the kernels on a shared memory, on the calling thread alone, have the plain builds\' bits', () => {
    const n = 70_001;
    const memories = [new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true }), new WebAssembly.Memory({ initial: 32, maximum: 32 })];
    const outs = memories.map((memory) => {
      const data = new CounterRng(0xfeed, 1);
      const view = (k: number) => new Float32Array(memory.buffer, 4 * k * (n + 3), n);
      [0, 1, 2, 3].forEach((k) => view(k).set(seededFloats(data, n)));
      DeStepWasm.create(memory)!.trial({ target: view(0), base: view(1), plus: view(2), minus: view(3) }, view(4), { f: 0.6, cr: 0.5, seed: 3, stream: 9, offset: 0, jRand: 17 });
      LinearCombineWasm.create(memory)!.linear(view(5), [view(0), view(1), view(4)], new Float32Array([0.25, 0.5, 0.25]), 1);
      return [view(4).slice(), view(5).slice()];
    });
    expect(firstBitMismatch(outs[0]![0]!, outs[1]![0]!)).toBe(-1);
    expect(firstBitMismatch(outs[0]![1]!, outs[1]![1]!)).toBe(-1);
  });
});
