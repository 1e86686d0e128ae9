/**
 * The architecture's one rule, checked: rooms (folders under src/, and the top-level cli/, workers/,
 * tools/) in data-flow order, each importing only from rooms below it (docs/architecture.md).
 * Tests, benchmarks and fixtures may import from anywhere.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Bottom first. */
export const ROOMS = [
  'src/protocol',
  'src/formats',
  'src/linalg',
  'src/gpu',
  'src/kernels',
  'src/eval',
  'src/merge',
  'src/population',
  'src/search',
  'src/project',
  'src/export',
  'src/engine',
  'src/testing',
  'src/state',
  'src/ui',
  'src',
  'workers',
  'cli',
  'tools',
  'bin',
];

const root = path.resolve(import.meta.dirname, '..');
const skip = /(\.test|\.spec|\.bench)\.tsx?$|\.d\.ts$/;

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.') || name === 'fixtures') continue;
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|tsx|mjs)$/.test(name) && !skip.test(name)) files.push(p);
    }
  };
  for (const top of ['src', 'cli', 'workers', 'tools', 'bin']) if (existsSync(path.join(root, top))) walk(path.join(root, top));
  return files;
}

function roomOf(file: string): string {
  const parts = path.relative(root, file).split(path.sep);
  return parts[0] === 'src' && parts.length > 2 ? `src/${parts[1]}` : parts[0]!;
}

function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** Every import that runs from a room to one at or above it (other than itself). */
export function upwardImports(): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles()) {
    const from = roomOf(file);
    const rank = ROOMS.indexOf(from);
    if (rank < 0) {
      problems.push(`${path.relative(root, file)}: room ${from} is not in the room order`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const target = resolveImport(file, (m[1] ?? m[2])!);
      if (!target || skip.test(target)) continue;
      const to = roomOf(target);
      if (to !== from && ROOMS.indexOf(to) > rank) problems.push(`${path.relative(root, file)} (${from}) imports ${path.relative(root, target)} (${to}), a room above it`);
    }
  }
  return problems;
}

describe('rooms in data-flow order', () => {
  it('no source file imports from a room above its own', () => {
    expect(upwardImports()).toEqual([]);
  });
});
