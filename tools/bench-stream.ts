/**
 * The streaming-merge section of `npm run bench` (alone: `npm run bench -- --only stream`):
 * generated BF16 checkpoints (three fine-tunes and a base; EVOLVER_BENCH_STREAM_GB is a comma
 * list of sizes per file, default 1 and 2.2 GB, the second past 2 GiB), each method merged by
 * the CLI in a child process under /usr/bin/time (wall time and peak RSS), beside the read +
 * write floor measured in the same run (every input read once by byte ranges and one output's
 * bytes written, through the same file handles) and beside tools/bench_stream.py, a torch
 * streaming merger with mergekit's formulas, on the same files under /usr/bin/time. Where a
 * method is deterministic, the two outputs are compared element by element. One table per
 * size; a size's files are deleted before the next is generated.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bigBytes, writeBigCheckpoint, type BigCheckpointSpec } from './big-checkpoints';
import { OpenFiles } from '../cli/file-source';
import { openSafetensorsFile } from '../src/formats/safetensors-source';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/evolver-studio.mjs');
const TORCH_SCRIPT = path.join(ROOT, 'tools', 'bench_stream.py');
const ROWS = 4096;
const COLS = 3840;

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
  stdout: string;
}

/** A command under GNU time: wall time from here (start included) and its peak RSS. */
async function timed(command: string, args: string[]): Promise<Timed> {
  const t = performance.now();
  const { stdout, stderr } = await run('/usr/bin/time', ['-v', command, ...args], { maxBuffer: 64 << 20, env: { ...process.env, EVOLVER_PROGRESS_MS: '600000' } });
  const seconds = (performance.now() - t) / 1000;
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN);
  return { seconds, rssGb: (kb * 1024) / 1e9, stdout };
}

/** The first python that imports torch: the one on PATH, then Debian's (python3-torch). */
function torchPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return python;
    } catch {
      // Not there, or no torch: try the next.
    }
  }
  return null;
}

interface Difference {
  largest: number;
  differing: number;
  elements: number;
}

/** The largest |a − b| and the count of differing elements over every tensor of two merged files (same names and shapes). */
async function compareOutputs(ours: string, theirs: string): Promise<Difference> {
  const files = new OpenFiles();
  try {
    const a = await openSafetensorsFile(await files.reader(ours), path.basename(ours));
    const b = await openSafetensorsFile(await files.reader(theirs), path.basename(theirs));
    const diff: Difference = { largest: 0, differing: 0, elements: 0 };
    for (const t of a.tensors) {
      const other = b.entry(t.name);
      if (!other || other.shape.join() !== t.shape.join()) throw new Error(`${theirs}: tensor ${t.name} is missing or shaped differently`);
      const rows = t.shape.length === 0 ? 1 : t.shape[0]!;
      // Bands of rows: decoded float32 copies of two whole tensors are not needed at once.
      for (let r = 0; r < rows; r += 512) {
        const end = Math.min(rows, r + 512);
        const [x, y] = [await a.readRows(t.name, r, end), await b.readRows(t.name, r, end)];
        for (let i = 0; i < x.length; i++) {
          // A NaN on either side counts as differing (x !== y) but not toward the largest difference.
          if (x[i] !== y[i]) diff.differing++;
          const d = Math.abs(x[i]! - y[i]!);
          if (d > diff.largest) diff.largest = d;
        }
        diff.elements += x.length;
      }
    }
    return diff;
  } finally {
    await files.closeAll();
  }
}

function differenceCell(d: Difference): string {
  const share = (100 * d.differing) / d.elements;
  return `${d.largest === 0 ? '0' : d.largest.toExponential(1)}; ${share === 0 ? '0' : share < 0.01 ? share.toExponential(1) : share.toFixed(2)} %`;
}

interface StreamCase {
  label: string;
  cli: string[];
  torch: string[];
  floor: number;
  /** Same inputs, same formulas, no random mask: the outputs can be compared. */
  deterministic: boolean;
}

/** EVOLVER_BENCH_STREAM_GB: a comma list of sizes per file in GB (default 1 and 2.2). */
function streamSizes(): number[] {
  const sizes = (process.env.EVOLVER_BENCH_STREAM_GB ?? '1,2.2').split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((gb) => !(gb > 0))) throw new Error(`EVOLVER_BENCH_STREAM_GB must be a comma list of sizes in GB above 0; got "${process.env.EVOLVER_BENCH_STREAM_GB}".`);
  return sizes;
}

export async function streamMergeBench(say: (text?: string) => void): Promise<void> {
  if (!existsSync('/usr/bin/time')) {
    say('### Streaming merges');
    say();
    say('Skipped: /usr/bin/time (GNU time, for peak RSS) is not installed.');
    say();
    return;
  }
  const python = torchPython();
  for (const gb of streamSizes()) await streamMergeSize(say, gb, python);
}

async function streamMergeSize(say: (text?: string) => void, gb: number, python: string | null): Promise<void> {
  const tensors = Math.max(1, Math.round((gb * 1e9) / (ROWS * COLS * 2)));
  const spec = (seed: number): BigCheckpointSpec => ({ tensors, rows: ROWS, cols: COLS, dtype: 'BF16', seed });
  const fileBytes = bigBytes(spec(0));
  const past2GiB = fileBytes > 2 ** 31 ? ', each file past 2 GiB' : '';
  say(`### Streaming merges (CLI \`merge\`, safetensors BF16, 3 fine-tunes + a base of ${(fileBytes / 1e9).toFixed(2)} GB each${past2GiB}, ${tensors} tensors of ${ROWS} × ${COLS})`);
  say();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evolver-bench-stream-'));
  try {
    // Four inputs and two outputs (ours and torch's, kept together for the comparison).
    const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
    if (free < fileBytes * 6) {
      say(`Skipped: ${(free / 1e9).toFixed(1)} GB free in ${os.tmpdir()}, ${((fileBytes * 6) / 1e9).toFixed(1)} GB needed.`);
      say();
      return;
    }
    const [base, ...experts] = [0, 1, 2, 3].map((seed) => path.join(dir, `${seed === 0 ? 'base' : `expert-${seed}`}.safetensors`)) as [string, ...string[]];
    for (const [i, f] of [base, ...experts].entries()) await writeBigCheckpoint(f, spec(i));
    // The generated files on disk before anything is timed: their write-back would slow the floor.
    execFileSync('sync');
    const out = path.join(dir, 'merged.safetensors');
    const torchOut = path.join(dir, 'merged-torch.safetensors');
    const floor3 = await readWriteFloor(experts, fileBytes, out);
    const floor4 = await readWriteFloor([base, ...experts], fileBytes, out);
    const withBase = ['--base', base, ...experts];
    const cases: StreamCase[] = [
      { label: 'linear', cli: ['--method', 'linear', ...experts], torch: ['--method', 'linear', ...experts], floor: floor3, deterministic: true },
      { label: 'task arithmetic (λ 1)', cli: ['--method', 'task_arithmetic', ...withBase], torch: ['--method', 'task_arithmetic', ...withBase], floor: floor4, deterministic: true },
      { label: 'TIES (density 0.5)', cli: ['--method', 'ties', '--density', '0.5', ...withBase], torch: ['--method', 'ties', ...withBase], floor: floor4, deterministic: true },
      { label: 'DARE linear (density 0.5)', cli: ['--method', 'dare_linear', '--density', '0.5', ...withBase], torch: ['--method', 'dare_linear', ...withBase], floor: floor4, deterministic: false },
      { label: 'SLERP (t 0.5, 2 models)', cli: ['--method', 'slerp', experts[0]!, experts[1]!], torch: ['--method', 'slerp', experts[0]!, experts[1]!], floor: (floor3 * 2) / 3, deterministic: true },
      { label: 'model stock', cli: ['--method', 'model_stock', ...withBase], torch: ['--method', 'model_stock', ...withBase], floor: floor4, deterministic: true },
    ];
    // Whole-tensor kernels spread over worker threads (--threads), where the machine has the
    // cores; torch gets the same thread count on those rows.
    const threads = Math.min(4, os.availableParallelism());
    if (threads > 1) {
      const t = ['--threads', String(threads)];
      cases.push({ label: `TIES (density 0.5), --threads ${threads}`, cli: ['--method', 'ties', '--density', '0.5', ...t, ...withBase], torch: ['--method', 'ties', ...t, ...withBase], floor: floor4, deterministic: true });
      cases.push({ label: `DARE linear (density 0.5), --threads ${threads}`, cli: ['--method', 'dare_linear', '--density', '0.5', ...t, ...withBase], torch: ['--method', 'dare_linear', ...t, ...withBase], floor: floor4, deterministic: false });
    }
    say(`| method | time (s) | peak RSS (GB) | read + write floor (s) | × floor |${python ? ' torch streaming (s) | torch RSS (GB) | × torch | torch vs ours (largest difference; bf16 elements differing) |' : ''}`);
    say(`|---|---|---|---|---|${python ? '---|---|---|---|' : ''}`);
    let torchThreads: number | null = null;
    // What every torch row pays before its first tensor: Python's start and torch's import.
    const torchImport = python ? (await timed(python, ['-c', 'import torch'])).seconds : 0;
    for (const c of cases) {
      const r = await timed(process.execPath, [BIN, 'merge', '--device', 'cpu', '--out', out, ...c.cli]);
      if (statSync(out).size < fileBytes) throw new Error(`${c.label}: the merged file is too short`);
      let row = `| ${c.label} | ${r.seconds.toFixed(1)} | ${r.rssGb.toFixed(2)} | ${c.floor.toFixed(1)} | ${(r.seconds / c.floor).toFixed(1)} |`;
      if (python) {
        const p = await timed(python, [TORCH_SCRIPT, '--out', torchOut, ...c.torch]);
        if (statSync(torchOut).size < fileBytes) throw new Error(`${c.label}: torch's merged file is too short`);
        if (!c.torch.includes('--threads')) torchThreads = (JSON.parse(p.stdout.trim().split('\n').pop()!) as { threads: number }).threads;
        const vs = c.deterministic ? differenceCell(await compareOutputs(out, torchOut)) : 'random masks differ';
        row += ` ${p.seconds.toFixed(1)} | ${p.rssGb.toFixed(2)} | ${(r.seconds / p.seconds).toFixed(2)} | ${vs} |`;
        rmSync(torchOut, { force: true });
      }
      say(row);
      rmSync(out, { force: true });
    }
    say();
    const torchNote = python
      ? `torch streaming: tools/bench_stream.py under ${python}, mergekit's formulas per tensor in float32 from byte-range reads, cast to bf16 and appended (its time includes Python's start and torch's import, ${torchImport.toFixed(1)} s alone); ${torchThreads ?? '?'} torch thread${torchThreads === 1 ? '' : 's'} (torch.get_num_threads()) except on the --threads rows. TIES finds each trim threshold with torch.kthvalue (mergekit sorts the magnitudes with argsort; both keep exactly k). × torch = our time / torch's.`
      : 'Neither python3 nor /usr/bin/python3 imports torch on this machine, so no torch streaming baseline is timed (install Debian\'s python3-torch).';
    say(
      `Floor: every input read once in 64 MiB byte ranges and one output's bytes written, same process type, same files (the inputs are in the page cache after generation, for the merges as for the floor). Times include the CLI's start (~2 s of tsx). ${torchNote} ${os.cpus().length} cores; load average ${os.loadavg()[0]!.toFixed(1)} at the end of this table.`,
    );
    say();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
