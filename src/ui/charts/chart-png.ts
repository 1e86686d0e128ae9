/**
 * A recharts chart as a PNG: the chart's SVG is serialised, drawn on a canvas as an image
 * and encoded; the caption and legend (HTML in recharts, not part of the SVG) are drawn on
 * the canvas around it. Browser-only (DOM, canvas).
 *
 * The SVG is drawn as a standalone image, where the page's stylesheet and CSS variables do
 * not apply: every element's computed paint and font are inlined first, so the PNG has the
 * colours of the theme on screen. Drawing an SVG without foreignObject from a blob: URL
 * keeps the canvas origin-clean (toBlob works), and the CSP allows img-src blob:.
 */
export interface LegendItem {
  name: string;
  /** Any CSS colour, CSS variables included (resolved against the chart). */
  color: string;
}

const INLINED_STYLES = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'opacity', 'font-family', 'font-size', 'font-weight', 'visibility'] as const;
/** Device pixels per CSS pixel in the PNG: sharp when zoomed or printed. */
const SCALE = 2;
const PAD = 12;
const TITLE_HEIGHT = 28;
const LEGEND_ROW = 22;
const SWATCH = 12;

/** A CSS colour (a variable, light-dark(), a name) as the rgb() the canvas understands. */
export function resolveCssColor(color: string, within: Element): string {
  const probe = document.createElement('span');
  probe.style.color = color;
  within.appendChild(probe);
  const resolved = getComputedStyle(probe).color;
  probe.remove();
  return resolved;
}

function inlineStyles(source: Element, target: Element): void {
  const computed = getComputedStyle(source);
  const style = INLINED_STYLES.map((name) => `${name}:${computed.getPropertyValue(name)}`).join(';');
  target.setAttribute('style', `${style};${target.getAttribute('style') ?? ''}`);
  const sourceChildren = source.children;
  const targetChildren = target.children;
  for (let i = 0; i < sourceChildren.length; i++) inlineStyles(sourceChildren[i]!, targetChildren[i]!);
}

async function svgImage(svg: SVGSVGElement, width: number, height: number): Promise<HTMLImageElement> {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  inlineStyles(svg, clone);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(clone)], { type: 'image/svg+xml' }));
  try {
    const image = new Image(width, height);
    image.src = url;
    await image.decode();
    return image;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Lays the legend out in rows that fit the width; returns each item's position. */
function legendLayout(ctx: CanvasRenderingContext2D, items: readonly LegendItem[], width: number): { item: LegendItem; x: number; row: number }[] {
  const placed: { item: LegendItem; x: number; row: number }[] = [];
  let x = PAD;
  let row = 0;
  for (const item of items) {
    const w = SWATCH + 6 + ctx.measureText(item.name).width + 18;
    if (x + w > width - PAD && x > PAD) {
      row++;
      x = PAD;
    }
    placed.push({ item, x, row });
    x += w;
  }
  return placed;
}

/**
 * legendHeight: the strip at the SVG's bottom that recharts keeps for its HTML legend;
 * left out of the image, since the legend is drawn on the canvas instead.
 */
export async function chartToPng(svg: SVGSVGElement, { title, legend, legendHeight: reserved = 0 }: { title: string; legend: readonly LegendItem[]; legendHeight?: number }): Promise<Blob> {
  const box = svg.getBoundingClientRect();
  const width = Math.ceil(box.width);
  const fullHeight = Math.ceil(box.height);
  const height = Math.max(1, fullHeight - Math.floor(reserved));
  const page = getComputedStyle(svg);
  const background = resolveCssColor('var(--card)', svg.parentElement ?? svg);
  const foreground = resolveCssColor('var(--fg)', svg.parentElement ?? svg);
  const font = `${page.fontSize} ${page.fontFamily}`;

  const canvas = document.createElement('canvas');
  const measure = canvas.getContext('2d')!;
  measure.font = font;
  const placed = legendLayout(measure, legend, width);
  const legendHeight = placed.length === 0 ? 0 : (placed[placed.length - 1]!.row + 1) * LEGEND_ROW + PAD / 2;
  const totalHeight = TITLE_HEIGHT + height + legendHeight;
  canvas.width = width * SCALE;
  canvas.height = totalHeight * SCALE;

  const ctx = canvas.getContext('2d')!;
  ctx.scale(SCALE, SCALE);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, width, totalHeight);
  ctx.fillStyle = foreground;
  ctx.textBaseline = 'middle';
  ctx.font = `600 ${font}`;
  ctx.fillText(title, PAD, TITLE_HEIGHT / 2);
  ctx.drawImage(await svgImage(svg, width, fullHeight), 0, 0, width, height, 0, TITLE_HEIGHT, width, height);
  ctx.font = font;
  for (const { item, x, row } of placed) {
    const y = TITLE_HEIGHT + height + row * LEGEND_ROW + LEGEND_ROW / 2;
    ctx.fillStyle = resolveCssColor(item.color, svg.parentElement ?? svg);
    ctx.fillRect(x, y - SWATCH / 2, SWATCH, SWATCH);
    ctx.fillStyle = foreground;
    ctx.fillText(item.name, x + SWATCH + 6, y);
  }
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The browser could not encode the PNG.'))), 'image/png'));
}
