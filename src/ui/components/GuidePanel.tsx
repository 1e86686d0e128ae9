/**
 * The guide (docs/guide.md, bundled) at the foot of the page, closed until asked for: the
 * fields' "i" links open it at their section.
 */
import { useEffect, useMemo, useRef } from 'react';
import guideMarkdown from '../../../docs/guide.md?raw';
import { guideHtml } from '../guide';
import type { GuideTopic } from './InfoTip';

export function GuidePanel() {
  const html = useMemo(() => guideHtml(guideMarkdown), []);
  const details = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const open = (event: Event) => {
      const topic = (event as CustomEvent<GuideTopic>).detail;
      if (details.current) details.current.open = true;
      // After the open panel has laid out: then the section has a place to scroll to.
      requestAnimationFrame(() => document.getElementById(`guide-${topic}`)?.scrollIntoView({ block: 'start' }));
    };
    window.addEventListener('evolver-guide', open);
    return () => window.removeEventListener('evolver-guide', open);
  }, []);
  return (
    <details className="card guide" ref={details} data-testid="guide">
      <summary>
        <h2>Guide: what each search, merger and chart does</h2>
      </summary>
      {/* The repository's own guide, rendered at build time: no user text reaches this HTML. */}
      <div className="guide-text" dangerouslySetInnerHTML={{ __html: html }} />
    </details>
  );
}
