/**
 * File input and output for the CLI: whole files as NamedBytes (the engine's input),
 * errors that name the path, progress on stderr.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NamedBytes } from '../src/protocol/files';
import { readOnnx } from '../src/formats/onnx-read';
import { externalDataFiles } from '../src/formats/onnx-external';

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Reads a file; the name the engine sees is the base name (as when a file is dropped in the studio). */
export function readInput(file: string): NamedBytes {
  if (!existsSync(file)) throw new InputError(`${file}: no such file.`);
  if (!statSync(file).isFile()) throw new InputError(`${file}: not a file.`);
  return { name: path.basename(file), bytes: new Uint8Array(readFileSync(file)) };
}

/** Files of a checkpoint folder the engine reads: safetensors shards and their index, ONNX and its external data. */
const CHECKPOINT_FILE = /\.(safetensors|onnx|onnx_data|data)$|\.safetensors\.index\.json$/i;

/**
 * A model argument as the files the engine needs, named as a folder drop names them
 * ("expert-a/model-00001-of-00002.safetensors"): a checkpoint folder, a sharded
 * checkpoint's index (its folder), an .onnx with the external data it points to, or one file.
 */
export function readModelInput(arg: string): NamedBytes[] {
  if (!existsSync(arg)) throw new InputError(`${arg}: no such file or folder.`);
  const folder = statSync(arg).isDirectory() ? arg : /\.safetensors\.index\.json$/i.test(arg) ? path.dirname(arg) : null;
  if (folder) {
    const files = readdirSync(folder).filter((f) => CHECKPOINT_FILE.test(f)).sort();
    if (files.length === 0) throw new InputError(`${folder}: no .safetensors or .onnx files in this folder.`);
    const name = path.basename(path.resolve(folder));
    return files.map((f) => ({ name: `${name}/${f}`, bytes: new Uint8Array(readFileSync(path.join(folder, f))) }));
  }
  const file = readInput(arg);
  if (!/\.onnx$/i.test(file.name)) return [file];
  // External data sits beside the model, where its initializers' location points.
  const sideFiles = externalDataFiles(readOnnx(file.bytes, file.name), file.name);
  return [file, ...sideFiles.map((side) => ({ name: side, bytes: readInput(path.join(path.dirname(arg), side)).bytes }))];
}

export function writeOutput(file: string, bytes: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeFileSync(file, bytes);
}

/**
 * A one-line progress bar on stderr when it is a terminal; plain lines otherwise (logs, CI),
 * at most one per `everyMs` and none before `everyMs` has passed (0: every change).
 */
export class Progress {
  private lastLine = '';
  private readonly started = Date.now();
  private lastPrinted = 0;
  constructor(
    private readonly quiet: boolean,
    private readonly everyMs = 0,
  ) {}

  update(text: string, fraction?: number): void {
    if (this.quiet) return;
    const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(Math.max(0, Math.min(1, fraction)) * 24)).padEnd(24, '.')}] `;
    const line = `${bar}${text}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 100) - 1).padEnd(this.lastLine.length)}`);
      this.lastLine = line;
      return;
    }
    const now = Date.now();
    if (line === this.lastLine || now - this.started < this.everyMs || now - this.lastPrinted < this.everyMs) return;
    process.stderr.write(`${line}\n`);
    this.lastPrinted = now;
    this.lastLine = line;
  }

  done(): void {
    if (!this.quiet && process.stderr.isTTY && this.lastLine) process.stderr.write('\n');
    this.lastLine = '';
  }
}

/** Bytes as "812 MB", "2.21 GB" (powers of 1000, as disk sizes are given). */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${Math.round(n)} B`;
}

/** Seconds as "42 s", "3 min 05 s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const r = Math.max(0, Math.round(s));
  return r < 60 ? `${r} s` : `${Math.floor(r / 60)} min ${String(r % 60).padStart(2, '0')} s`;
}

/** A streamed step's progress line: tensors, bytes, rate and the time left at that rate. */
export function etaLine(label: string, done: number, count: number, bytes: number, totalBytes: number, elapsedMs: number): { text: string; fraction: number } {
  const fraction = totalBytes > 0 ? bytes / totalBytes : count > 0 ? done / count : 1;
  const rate = elapsedMs > 0 ? bytes / (elapsedMs / 1000) : 0;
  const left = fraction > 0 ? ((elapsedMs / 1000) * (1 - fraction)) / fraction : Infinity;
  return { text: `${label} tensor ${done}/${count}, ${formatBytes(bytes)} of ${formatBytes(totalBytes)} read (${formatBytes(rate)}/s), ETA ${formatSeconds(left)}`, fraction };
}

/** A text table: first row is the header; numbers right-aligned. */
export function formatTable(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((r) => r[c]?.length ?? 0)));
  const numeric = cells[0]!.map((_, c) => cells.slice(1).every((r) => /^-?[\d.]+%?$|^–$|^NaN$/.test(r[c] ?? '')));
  const line = (r: string[]) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
