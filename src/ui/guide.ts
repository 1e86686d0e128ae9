/**
 * docs/guide.md as the studio shows it: HTML from marked, each section's heading given the id
 * the fields' "i" links point at (#guide-<topic>). The guide is this repository's own text,
 * bundled at build time, so its HTML is trusted.
 */
import { Marked } from 'marked';
import type { GuideTopic } from './components/InfoTip';

/** Each section of the guide by its heading's first word, and the topic it answers. */
export const GUIDE_SECTIONS: Record<string, GuideTopic> = {
  data: 'data',
  mergers: 'mergers',
  search: 'strategies',
  evolver: 'evolver',
  selection: 'selection',
  charts: 'charts',
  exports: 'exports',
};

export function guideHtml(markdown: string): string {
  const marked = new Marked({
    renderer: {
      heading({ tokens, depth, text }) {
        const topic = depth === 2 ? GUIDE_SECTIONS[text.split(/\s/)[0]!.toLowerCase()] : undefined;
        const id = topic ? ` id="guide-${topic}"` : '';
        // The page has its h1 and h2s: the guide's levels sit below them.
        return `<h${depth + 1}${id}>${this.parser.parseInline(tokens)}</h${depth + 1}>\n`;
      },
    },
  });
  return marked.parse(markdown, { async: false });
}
