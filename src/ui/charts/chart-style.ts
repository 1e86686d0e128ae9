/**
 * Chart colours and recharts styling shared by every chart. Colours are CSS variables
 * (styles.css, one value per theme, each at least 3:1 against the card background), so
 * the charts follow the theme without re-rendering and the PNG export resolves them.
 */
import type { CSSProperties, ReactNode } from 'react';
import { createElement } from 'react';

export const SERIES = {
  best: 'var(--series-best)',
  mean: 'var(--series-mean)',
  merged: 'var(--series-merged)',
  kinshipPopulation: 'var(--series-kin-population)',
  kinshipParents: 'var(--series-kin-parents)',
  accepted: 'var(--series-accepted)',
  rejected: 'var(--series-rejected)',
  rate: 'var(--series-rate)',
} as const;

/** recharts' tooltip is white by default: unreadable in the dark theme. */
export const TOOLTIP_STYLE: CSSProperties = { background: 'var(--card)', border: '1px solid var(--border)', color: 'var(--fg)', borderRadius: 6 };

/** Legend labels in the text colour (recharts colours them like their series, too faint for text). */
export function legendLabel(value: ReactNode): ReactNode {
  return createElement('span', { style: { color: 'var(--fg)' } }, value);
}

/** Line dots hollow in the card's colour (recharts fills them white: a bright spot in the dark theme). */
export const DOT = { r: 3, fill: 'var(--card)' } as const;

export const AXIS_COLOR = 'var(--fg-muted)';
export const GRID_COLOR = 'var(--grid)';
