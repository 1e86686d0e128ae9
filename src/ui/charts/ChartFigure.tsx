/**
 * The frame every run chart shares: caption, a chart area of fixed height (reserved before
 * any data, so the page does not jump while points arrive), an empty-state note, and the
 * Download PNG / Download CSV buttons under it.
 */
import { useRef, useState, type ReactNode } from 'react';
import { chartToPng, type LegendItem } from './chart-png';
import { toCsv, type CsvColumn } from './csv';
import { downloadBlob } from '../../state/download';

interface ChartFigureProps<Row> {
  testId: string;
  title: string;
  /** File name without extension for both downloads. */
  fileName: string;
  height: number;
  /** What the chart plots (data-points, for tests), and whether there is anything yet. */
  points: number;
  emptyText: string;
  csv: { columns: readonly CsvColumn<Row>[]; rows: readonly Row[] };
  /** Drawn under the chart in the PNG (recharts' legend is HTML, not part of the SVG). */
  legend: readonly LegendItem[];
  /** Controls beside the caption (a view toggle). */
  controls?: ReactNode;
  children: ReactNode;
}

export function ChartFigure<Row>({ testId, title, fileName, height, points, emptyText, csv, legend, controls, children }: ChartFigureProps<Row>) {
  const area = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const empty = points === 0;

  const downloadPng = async () => {
    // The chart's own SVG: legend icons are small SVGs of their own, outside the wrapper's direct children.
    const svg = area.current?.querySelector<SVGSVGElement>('.recharts-wrapper > svg');
    if (!svg) return setError('The chart has not been drawn yet.');
    try {
      const legendHeight = area.current?.querySelector('.recharts-legend-wrapper')?.getBoundingClientRect().height ?? 0;
      downloadBlob(await chartToPng(svg, { title, legend, legendHeight }), `${fileName}.png`);
      setError(null);
    } catch (err) {
      setError(`Could not make the PNG: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  return (
    <figure className="chart" data-testid={testId} data-points={points}>
      <div className="chart-head">
        <figcaption>{title}</figcaption>
        {controls}
      </div>
      <div className="chart-area" ref={area} style={{ height }}>
        {children}
        {empty && <p className="chart-empty muted">{emptyText}</p>}
      </div>
      <div className="chart-downloads">
        <button type="button" className="small" disabled={empty} aria-label={`Download PNG of ${title}`} onClick={() => void downloadPng()}>
          Download PNG
        </button>
        <button type="button" className="small" disabled={empty} aria-label={`Download CSV of ${title}`} onClick={() => downloadBlob(new Blob([toCsv(csv.columns, csv.rows)], { type: 'text/csv' }), `${fileName}.csv`)}>
          Download CSV
        </button>
        {error && (
          <span className="field-error" role="alert">
            {error}
          </span>
        )}
      </div>
    </figure>
  );
}
