/**
 * `merge` streamed tensor by tensor from safetensors files, against the in-memory path
 * (--in-memory) on generated BF16 checkpoints: the same bytes for single files and sharded
 * folders, tensors past a lowered chunk budget merged in row bands, progress with an ETA on
 * stderr; with --device gpu (SwiftShader in CI), whole tensors merged on the GPU, the CPU's values. With EVOLVER_BIG_TEST=1 (and the disk room), three 2.2 GB BF16 checkpoints (each
 * past 2 GiB, which a whole-file read cannot take) merged by the CLI in a child process with
 * peak RSS under 2 GB, sampled tensors checked against a direct computation.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTypedSafetensors, type TypedTensor } from '../src/export/result-export';
import { openSafetensorsFile } from '../src/formats/safetensors-source';
import { encodeFloats } from '../src/formats/safetensors-stream-write';
import { linearMerge } from '../src/kernels/task-vector/linear.cpu';
import { getNodeGpu } from '../src/gpu/node-gpu';
import { readSafetensors } from '../src/formats/safetensors-read';
import { tensorToFloat32 } from '../src/formats/safetensors-float';
import { OpenFiles } from './file-source';
import { bigBytes, writeBigCheckpoint, type BigCheckpointSpec } from '../tools/big-checkpoints';
import { cliInProcess as cli } from './cli-testing';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'evolver-stream-'));
const saved = { chunk: process.env.EVOLVER_STREAM_CHUNK_BYTES, progress: process.env.EVOLVER_PROGRESS_MS };

function tensorsOf(seed: number | null): TypedTensor[] {
  const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 + k) * 0.05 + (seed === null ? 0 : Math.sin(i * 0.7 + seed * 3.1 + k) * 0.01));
  const layers = Array.from({ length: 12 }, (_, l): TypedTensor => ({ name: `model.layers.${l}.proj.weight`, shape: [256, 512], dtype: 'BF16', data: wave(256 * 512, l + 1) }));
  return [
    // 2M parameters: 40 MB of float32 for 4 inputs and the output, past the 1 MiB test budget.
    { name: 'model.embed_tokens.weight', shape: [8192, 256], dtype: 'BF16', data: wave(8192 * 256, 0) },
    ...layers,
    { name: 'model.norm.weight', shape: [256], dtype: 'BF16', data: Float32Array.from({ length: 256 }, () => 1) },
    { name: 'position_ids', shape: [1, 8], dtype: 'I64', bytes: new Uint8Array(BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i + (seed ?? 100))).buffer) },
  ];
}

const dir = (name: string) => path.join(tmp, name);

/** A model folder with model.safetensors, or two shards and an index. */
function makeModel(name: string, seed: number | null, sharded = false): void {
  mkdirSync(dir(name), { recursive: true });
  const tensors = tensorsOf(seed);
  if (!sharded) {
    writeFileSync(path.join(dir(name), 'model.safetensors'), writeTypedSafetensors(tensors, { format: 'pt' }));
    return;
  }
  const halves = [tensors.slice(0, 7), tensors.slice(7)];
  const weightMap: Record<string, string> = {};
  halves.forEach((h, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    for (const t of h) weightMap[t.name] = file;
    writeFileSync(path.join(dir(name), file), writeTypedSafetensors(h, { format: 'pt' }));
  });
  writeFileSync(path.join(dir(name), 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}


const EXPERTS = () => [dir('expert-a'), dir('expert-b'), dir('expert-c')];

/** Streamed and --in-memory runs of the same merge; returns both outputs' paths and the streamed run. */
async function bothWays(name: string, args: string[], ext = '.safetensors') {
  const streamedOut = path.join(tmp, `${name}-stream${ext}`);
  const memoryOut = path.join(tmp, `${name}-memory${ext}`);
  const streamed = await cli('merge', ...args, '--device', 'cpu', '--out', streamedOut, ...EXPERTS());
  const memory = await cli('merge', ...args, '--device', 'cpu', '--in-memory', '--out', memoryOut, ...EXPERTS());
  expect(memory.code).toBe(0);
  expect(streamed.code).toBe(0);
  return { streamedOut, memoryOut, streamed };
}

const same = (a: string, b: string) => expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);

beforeAll(() => {
  makeModel('base', null);
  makeModel('expert-a', 1);
  makeModel('expert-b', 2);
  makeModel('expert-c', 3, true);
  process.env.EVOLVER_STREAM_CHUNK_BYTES = String(1 << 20);
  process.env.EVOLVER_PROGRESS_MS = '0';
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  for (const [key, value] of [['EVOLVER_STREAM_CHUNK_BYTES', saved.chunk], ['EVOLVER_PROGRESS_MS', saved.progress]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('merge streams safetensors tensor by tensor', () => {
  it('linear: the in-memory bytes, the embedding in row bands, progress with an ETA', async () => {
    const { streamedOut, memoryOut, streamed } = await bothWays('linear', ['--method', 'linear']);
    same(streamedOut, memoryOut);
    expect(streamed.stdout).toMatch(/13 of 14 tensors differ\) with simple average on CPU, streamed tensor by tensor, 13 in row bands/);
    expect(streamed.stdout).toMatch(/1 integer tensor copied, streamed/);
    expect(streamed.stderr).toMatch(/merging tensor 1\/14, .* read .*ETA/);
    expect(streamed.stderr).toMatch(/tensor 14\/14/);
  });

  for (const [method, extra] of [
    ['task_arithmetic', ['--lambda', '0.7']],
    ['ties', ['--density', '0.4']],
    ['dare_ties', ['--density', '0.5', '--seed', '5']],
    ['model_stock', []],
    ['della', ['--density', '0.5']],
  ] as const) {
    it(`${method} against the base: the in-memory bytes`, async () => {
      const { streamedOut, memoryOut } = await bothWays(method, ['--method', method, '--base', dir('base'), ...extra]);
      same(streamedOut, memoryOut);
    });
  }

  it('--threads 3: whole tensors merged in worker threads, the in-memory bytes', async () => {
    for (const method of ['ties', 'dare_ties']) {
      const { streamedOut, memoryOut, streamed } = await bothWays(`${method}-threads`, ['--method', method, '--density', '0.5', '--base', dir('base'), '--threads', '3']);
      expect(streamed.stdout).toContain('streamed tensor by tensor');
      same(streamedOut, memoryOut);
    }
  });

  it('--device gpu: whole tensors merged on the GPU one after another, the CPU\'s values', async () => {
    if (!(await getNodeGpu())) return;
    // Small F32 checkpoints (SwiftShader emulates the GPU on the CPU), sizes off the workgroup size.
    const small = (name: string, seed: number | null) => {
      const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 + k) * 0.05 + (seed === null ? 0 : Math.sin(i * 0.7 + seed * 3.1 + k) * 0.01));
      const file = path.join(tmp, `${name}.safetensors`);
      const shapes: [string, number[]][] = [['embed.weight', [61, 37]], ['layers.0.proj.weight', [37, 29]], ['layers.0.proj.bias', [257]], ['norm.weight', [37]]];
      writeFileSync(file, writeTypedSafetensors(shapes.map(([n, shape], k) => ({ name: n, shape, dtype: 'F32', data: n === 'norm.weight' ? new Float32Array(37).fill(1) : wave(shape.reduce((a, b) => a * b, 1), k) })), { format: 'pt' }));
      return file;
    };
    const base = small('gpu-base', null);
    const experts = [1, 2, 3].map((seed) => small(`gpu-expert-${seed}`, seed));
    for (const method of ['ties', 'model_stock']) {
      const gpuOut = path.join(tmp, `${method}-gpu.safetensors`);
      const cpuOut = path.join(tmp, `${method}-cpu.safetensors`);
      const args = ['--method', method, '--density', '0.5', '--base', base];
      const onGpu = await cli('merge', ...args, '--device', 'gpu', '--out', gpuOut, ...experts);
      expect(onGpu.code).toBe(0);
      expect((await cli('merge', ...args, '--device', 'cpu', '--out', cpuOut, ...experts)).code).toBe(0);
      // The norm is the same in every file: copied, not merged.
      expect(onGpu.stdout).toMatch(/\(3 of 4 tensors differ \(3 merged on the GPU\)\) with .* on WebGPU \(.*\), streamed tensor by tensor/);
      const [g, c] = [readSafetensors(new Uint8Array(readFileSync(gpuOut)), 'gpu'), readSafetensors(new Uint8Array(readFileSync(cpuOut)), 'cpu')];
      expect(g.metadata.compute_path).toBe('webgpu');
      expect(c.metadata.compute_path).toBe('wasm');
      expect(g.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(c.tensors.map((t) => [t.name, t.dtype, t.shape]));
      let far = 0;
      for (const [i, t] of g.tensors.entries()) {
        const [x, y] = [tensorToFloat32(t), tensorToFloat32(c.tensors[i]!)];
        for (let k = 0; k < x.length; k++) if (!(Math.abs(x[k]! - y[k]!) <= 1e-5 * (1 + Math.abs(y[k]!)))) far++;
      }
      // TIES votes within rounding of zero may flip on fused multiply-adds: a handful at most.
      expect(far).toBeLessThanOrEqual(method === 'ties' ? 3 : 0);
    }
    // --threads is the CPU's: with --device gpu it is refused, not ignored.
    const both = await cli('merge', '--method', 'ties', '--base', base, '--device', 'gpu', '--threads', '2', '--out', path.join(tmp, 'both.safetensors'), ...experts);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give one or the other');
  });

  it('slerp and --dtype F32: the in-memory bytes', async () => {
    const a = path.join(tmp, 'slerp-s.safetensors');
    const b = path.join(tmp, 'slerp-m.safetensors');
    expect((await cli('merge', '--method', 'slerp', '--t', '0.3', '--dtype', 'F32', '--device', 'cpu', '--out', a, dir('expert-a'), dir('expert-c'))).code).toBe(0);
    expect((await cli('merge', '--method', 'slerp', '--t', '0.3', '--dtype', 'F32', '--device', 'cpu', '--in-memory', '--out', b, dir('expert-a'), dir('expert-c'))).code).toBe(0);
    same(a, b);
  });

  it('a sharded --out folder: every file as the in-memory path writes it', async () => {
    const { streamedOut, memoryOut } = await bothWays('folder', ['--method', 'task_arithmetic', '--base', dir('base'), '--out-shard-size', '2M'], '');
    const files = readdirSync(memoryOut).sort();
    expect(files.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(2);
    expect(readdirSync(streamedOut).sort()).toEqual(files);
    for (const f of files) same(path.join(streamedOut, f), path.join(memoryOut, f));
  });

  it('refuses what the in-memory path refuses, with its messages, and leaves no file behind', async () => {
    const odd = dir('odd');
    mkdirSync(odd, { recursive: true });
    writeFileSync(path.join(odd, 'model.safetensors'), writeTypedSafetensors(tensorsOf(4).map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [128], data: new Float32Array(128) } : t)), {}));
    const out = path.join(tmp, 'refused.safetensors');
    const shape = await cli('merge', '--method', 'linear', '--device', 'cpu', '--out', out, dir('expert-a'), odd);
    const shapeMemory = await cli('merge', '--method', 'linear', '--device', 'cpu', '--in-memory', '--out', out, dir('expert-a'), odd);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toContain('not the same architecture as expert-a/model.safetensors');
    expect(shape.stderr).toBe(shapeMemory.stderr);
    const twins = await cli('merge', '--method', 'linear', '--device', 'cpu', '--out', out, dir('expert-a'), dir('expert-a'));
    expect(twins.stderr).toContain('identical weights: nothing to merge');
    expect(existsSync(out)).toBe(false);
    const slerp = await cli('merge', '--method', 'slerp', '--device', 'cpu', '--out', out, ...EXPERTS());
    expect(slerp.stderr).toContain('SLERP merges exactly 2 models');
  });
});

const BIG = process.env.EVOLVER_BIG_TEST === '1';
// 64 tensors of 4096 × 4224: 1.107G parameters, 2.21 GB in BF16 (past 2 GiB) per checkpoint.
const BIG_SPEC = { tensors: 64, rows: 4096, cols: 4224, dtype: 'BF16' } as const;
const run = promisify(execFile);

describe.skipIf(!BIG)('merge streams three 2.2 GB BF16 checkpoints (EVOLVER_BIG_TEST=1)', () => {
  it('with peak RSS under 2 GB and the right values', { timeout: 3_600_000 }, async () => {
    const bigDir = mkdtempSync(path.join(os.tmpdir(), 'evolver-big-'));
    try {
      const specs: BigCheckpointSpec[] = [1, 2, 3].map((seed) => ({ ...BIG_SPEC, seed }));
      const need = specs.reduce((n, s) => n + bigBytes(s), 0) + bigBytes(specs[0]!) + 1e9;
      const free = statfsSync(bigDir).bavail * statfsSync(bigDir).bsize;
      if (free < need) {
        process.stderr.write(`skipped: ${(free / 1e9).toFixed(1)} GB free, ${(need / 1e9).toFixed(1)} GB needed\n`);
        return;
      }
      const files = specs.map((_, i) => path.join(bigDir, `expert-${i}.safetensors`));
      for (const [i, f] of files.entries()) await writeBigCheckpoint(f, specs[i]!);
      for (const f of files) expect(statSync(f).size).toBeGreaterThan(2 ** 31);
      const out = path.join(bigDir, 'merged.safetensors');
      const bin = path.resolve(import.meta.dirname, '../bin/evolver-studio.mjs');
      const started = Date.now();
      const { stderr, stdout } = await run('/usr/bin/time', ['-v', process.execPath, bin, 'merge', '--method', 'linear', '--device', 'cpu', '--out', out, ...files], { maxBuffer: 64 << 20, env: { ...process.env, EVOLVER_STREAM_CHUNK_BYTES: '', EVOLVER_PROGRESS_MS: '30000' } });
      const seconds = (Date.now() - started) / 1000;
      const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
      process.stderr.write(`big streamed linear merge: ${seconds.toFixed(1)} s wall, peak RSS ${(rssKb / 1e6).toFixed(2)} GB\n${stdout}`);
      expect(rssKb * 1024).toBeLessThan(2e9);
      expect(statSync(out).size).toBeGreaterThan(2 ** 31);
      // Sampled tensors: the average computed directly from the inputs, in BF16.
      const handles = new OpenFiles();
      try {
        const inputs = await Promise.all(files.map(async (f) => openSafetensorsFile(await handles.reader(f), path.basename(f))));
        const merged = await openSafetensorsFile(await handles.reader(out), 'merged.safetensors');
        for (const name of ['model.layers.0.mlp.weight', 'model.layers.37.mlp.weight', 'model.layers.63.mlp.weight']) {
          const data = await Promise.all(inputs.map((s) => s.readTensor(name)));
          const expected = new Float32Array(data[0]!.length);
          linearMerge(data, expected, {});
          expect(Buffer.compare(Buffer.from(await merged.readBytes(name)), Buffer.from(encodeFloats(expected, 'BF16')))).toBe(0);
        }
      } finally {
        await handles.closeAll();
      }
    } finally {
      rmSync(bigDir, { recursive: true, force: true });
    }
  });
});
