/**
 * The "i" beside a field: a button (keyboard and touch alike, unlike a hover title) that shows
 * the field's one-line help under it, with a link to the guide's section on the topic. A span
 * with the button role, not a <button>: inside a <label> a button would become the element the
 * label names, taking it from the field.
 */
import { useId, useState } from 'react';

/** The guide's sections (docs/guide.md, shown by GuidePanel): each help line links to one. */
export type GuideTopic = 'mergers' | 'strategies' | 'evolver' | 'selection' | 'charts' | 'exports' | 'data';

export function InfoTip({ label, help, topic }: { label: string; help: string; topic?: GuideTopic }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <>
      <span
        role="button"
        tabIndex={0}
        className="info"
        // Not the field's label: form lookups by label (getByLabel, assistive tech) must find the field.
        aria-label="Help"
        data-help-for={label}
        aria-expanded={open}
        aria-controls={id}
        onClick={(e) => {
          // Inside a <label>: the click must not reach the field (a checkbox would toggle).
          e.preventDefault();
          setOpen((o) => !o);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            setOpen((o) => !o);
          } else if (e.key === 'Escape') setOpen(false);
        }}
      >
        i
      </span>
      {open && (
        <span className="field-help" id={id} role="note">
          {help}
          {topic && (
            <>
              {' '}
              <a href={`#guide-${topic}`} onClick={() => openGuide(topic)}>
                Guide
              </a>
            </>
          )}
        </span>
      )}
    </>
  );
}

/** Opens the guide panel at a section (GuidePanel listens for this). */
export function openGuide(topic: GuideTopic): void {
  window.dispatchEvent(new CustomEvent('evolver-guide', { detail: topic }));
}
