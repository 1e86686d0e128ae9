/**
 * public/_headers (copied into dist/ for static hosts) sends what vite.config.ts gives the dev
 * server and the preview: cross-origin isolation (onnxruntime-web's threads) and the CSP.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, ISOLATION_HEADERS } from '../vite.config';

function parseHeadersFile(text: string): Map<string, Record<string, string>> {
  const rules = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      current = {};
      rules.set(line.trim(), current);
      continue;
    }
    const colon = line.indexOf(':');
    if (!current || colon < 0) throw new Error(`public/_headers: "${line.trim()}" is neither a path nor a "Name: value" header`);
    current[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return rules;
}

describe('public/_headers', () => {
  it('gives every path the preview server\'s isolation headers and CSP', () => {
    const rules = parseHeadersFile(readFileSync(path.resolve(import.meta.dirname, '../public/_headers'), 'utf8'));
    expect([...rules.keys()]).toEqual(['/*']);
    expect(rules.get('/*')).toEqual({ ...ISOLATION_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
    expect(ISOLATION_HEADERS['Cross-Origin-Embedder-Policy']).toBe('require-corp');
    expect(ISOLATION_HEADERS['Cross-Origin-Opener-Policy']).toBe('same-origin');
  });
});
