/**
 * Test-only: the CLI run two ways, each returning its exit code and what it printed. As a user
 * runs it (`node bin/evolver-studio.mjs`, a child process), or in this process through main()
 * with stdout and stderr captured (fast; for tests that run it many times). Imported by
 * cli/*.test.ts only.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { vi } from 'vitest';
import { main } from './main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);
export const CLI_BIN = path.resolve(import.meta.dirname, '../bin/evolver-studio.mjs');

/** `node bin/evolver-studio.mjs ...args` in a child process. */
export async function cliProcess(...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_BIN, ...args], { maxBuffer: 64 << 20, env: { ...process.env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** main(args) in this process, its output captured. */
export async function cliInProcess(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
