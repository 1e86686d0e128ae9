import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUIDE_SECTIONS, guideHtml } from './guide';

const markdown = readFileSync(path.resolve(import.meta.dirname, '../../docs/guide.md'), 'utf8');

describe('the guide', () => {
  it('has a section for every topic the fields link to, each with its anchor', () => {
    const html = guideHtml(markdown);
    for (const topic of new Set(Object.values(GUIDE_SECTIONS))) expect(html).toContain(`id="guide-${topic}"`);
    expect(html).toContain('<table>');
    expect(html).not.toContain('<h1');
  });

  it('names every merge method of the registry', async () => {
    const { MERGE_METHODS } = await import('../merge/registry');
    const text = markdown.toLowerCase().replace(/[\s_-]/g, '');
    const missing = MERGE_METHODS.filter((m) => !text.includes(m.label.toLowerCase().replace(/[\s_-]/g, '').replace(/\(.*\)/, '')) && !text.includes(m.id.replace(/[_-]/g, '')));
    expect(missing.map((m) => m.id)).toEqual([]);
  });
});
