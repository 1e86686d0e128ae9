/**
 * The streaming-merge section of `npm run bench` (alone: `npm run bench -- --only stream`):
 * generated BF16 checkpoints (three fine-tunes and a base of ~1 GB each; EVOLVER_BENCH_STREAM_GB
 * sets the size), each method merged by the CLI in a child process under /usr/bin/time
 * (wall time and peak RSS), beside the read + write floor measured in the same run: every
 * input read once by byte ranges and one output's bytes written, through the same file handles.
 * torch streaming is timed only when python3 can import torch.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bigBytes, writeBigCheckpoint, type BigCheckpointSpec } from './big-checkpoints';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/evolver-studio.mjs');

/** Reads each file once in 64 MiB pieces and writes `outBytes` to a scratch file: what any streamed merge must do. */
async function readWriteFloor(files: readonly string[], outBytes: number, scratch: string): Promise<number> {
  const t = performance.now();
  const piece = new Uint8Array(64 << 20);
  for (const f of files) {
    const h = await open(f, 'r');
    try {
      for (let at = 0; ; ) {
        const { bytesRead } = await h.read(piece, 0, piece.length, at);
        if (bytesRead <= 0) break;
        at += bytesRead;
      }
    } finally {
      await h.close();
    }
  }
  const w = await open(scratch, 'w');
  try {
    for (let left = outBytes; left > 0; left -= piece.length) await w.write(piece, 0, Math.min(piece.length, left));
  } finally {
    await w.close();
  }
  rmSync(scratch, { force: true });
  return (performance.now() - t) / 1000;
}

interface Timed {
  seconds: number;
  rssGb: number;
}

async function timedCli(args: string[]): Promise<Timed> {
  const t = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-v', process.execPath, BIN, ...args], { maxBuffer: 64 << 20, env: { ...process.env, EVOLVER_PROGRESS_MS: '600000' } });
  const seconds = (performance.now() - t) / 1000;
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN);
  return { seconds, rssGb: (kb * 1024) / 1e9 };
}

function torchAvailable(): boolean {
  try {
    execFileSync('python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function streamMergeBench(say: (text?: string) => void): Promise<void> {
  const gb = Number(process.env.EVOLVER_BENCH_STREAM_GB ?? 1);
  const cols = 3840;
  const rows = 4096;
  const tensors = Math.max(1, Math.round((gb * 1e9) / (rows * cols * 2)));
  const spec = (seed: number): BigCheckpointSpec => ({ tensors, rows, cols, dtype: 'BF16', seed });
  const fileBytes = bigBytes(spec(0));
  say(`### Streaming merges (CLI \`merge\`, safetensors BF16, 3 fine-tunes + a base of ${(fileBytes / 1e9).toFixed(2)} GB each, ${tensors} tensors of ${rows} × ${cols})`);
  say();
  if (!existsSync('/usr/bin/time')) {
    say('Skipped: /usr/bin/time (GNU time, for peak RSS) is not installed.');
    say();
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evolver-bench-stream-'));
  try {
    const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
    if (free < fileBytes * 6) {
      say(`Skipped: ${(free / 1e9).toFixed(1)} GB free in ${os.tmpdir()}, ${((fileBytes * 6) / 1e9).toFixed(1)} GB needed.`);
      say();
      return;
    }
    const [base, ...experts] = [0, 1, 2, 3].map((seed) => path.join(dir, `${seed === 0 ? 'base' : `expert-${seed}`}.safetensors`));
    for (const [i, f] of [base!, ...experts].entries()) await writeBigCheckpoint(f, spec(i));
    const out = path.join(dir, 'merged.safetensors');
    const floor3 = await readWriteFloor(experts, fileBytes, out);
    const floor4 = await readWriteFloor([base!, ...experts], fileBytes, out);
    const cases: [string, string[], number][] = [
      ['linear', ['--method', 'linear', ...experts], floor3],
      ['task arithmetic (λ 1)', ['--method', 'task_arithmetic', '--base', base!, ...experts], floor4],
      ['TIES (density 0.5)', ['--method', 'ties', '--density', '0.5', '--base', base!, ...experts], floor4],
      ['DARE linear (density 0.5)', ['--method', 'dare_linear', '--density', '0.5', '--base', base!, ...experts], floor4],
      ['SLERP (t 0.5, 2 models)', ['--method', 'slerp', experts[0]!, experts[1]!], (floor3 * 2) / 3],
      ['model stock', ['--method', 'model_stock', '--base', base!, ...experts], floor4],
    ];
    // Whole-tensor kernels spread over worker threads (--threads), where the machine has the cores.
    const threads = Math.min(4, os.availableParallelism());
    if (threads > 1) {
      cases.push([`TIES (density 0.5), --threads ${threads}`, ['--method', 'ties', '--density', '0.5', '--threads', String(threads), '--base', base!, ...experts], floor4]);
      cases.push([`DARE linear (density 0.5), --threads ${threads}`, ['--method', 'dare_linear', '--density', '0.5', '--threads', String(threads), '--base', base!, ...experts], floor4]);
    }
    say('| method | time (s) | peak RSS (GB) | read + write floor (s) | × floor |');
    say('|---|---|---|---|---|');
    for (const [label, args, floor] of cases) {
      const r = await timedCli(['merge', '--device', 'cpu', '--out', out, ...args]);
      if (statSync(out).size < fileBytes) throw new Error(`${label}: the merged file is too short`);
      say(`| ${label} | ${r.seconds.toFixed(1)} | ${r.rssGb.toFixed(2)} | ${floor.toFixed(1)} | ${(r.seconds / floor).toFixed(1)} |`);
      rmSync(out, { force: true });
    }
    say();
    say(
      `Floor: every input read once in 64 MiB byte ranges and one output's bytes written, same process type, same files (the inputs are in the page cache after generation, for the merges as for the floor). Times include the CLI's start (~2 s of tsx). ${
        torchAvailable() ? 'torch is importable but its streaming baseline is not timed by this section yet.' : 'torch is not importable by python3 on this machine, so no torch streaming baseline is timed.'
      } ${os.cpus().length} cores; load average ${os.loadavg()[0]!.toFixed(1)} at the end of this section.`,
    );
    say();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
