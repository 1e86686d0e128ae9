/**
 * Every offspring's dev score, accepted and rejected in two colours (and two shapes, so
 * the difference does not rest on colour alone), by generation or by the individual it
 * would replace.
 */
import { useState } from 'react';
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';
import { ChartFigure } from './ChartFigure';
import { AXIS_COLOR, GRID_COLOR, SERIES, TOOLTIP_STYLE, legendLabel } from './chart-style';
import { scatterPoints, type ScatterAxis, type ScatterPoint } from './offspring-series';
import type { CsvColumn } from './csv';
import { direction, useTaskView } from './use-task';
import { metricText } from '../format';
import { metricColumn } from '../../eval/tasks/metric-format';
import type { MetricDescriptor } from '../../protocol/results';

/**
 * A fraction: half a point above and below the scores, within [0, 1], so no point sits on the
 * axis. Any other metric: its own range.
 */
function yDomain(metric: MetricDescriptor): [(min: number) => number, (max: number) => number] | ['auto', 'auto'] {
  return metric.format === 'percent' ? [(min) => Math.max(0, min - 0.005), (max) => Math.min(1, max + 0.005)] : ['auto', 'auto'];
}

function csvColumns(metric: MetricDescriptor): CsvColumn<ScatterPoint>[] {
  return [
    { header: 'generation', value: (p) => p.generation },
    { header: 'offspring', value: (p) => p.index },
    { header: 'individual', value: (p) => p.individual },
    { header: `dev_${metricColumn(metric)}`, value: (p) => p.score },
    { header: 'accepted', value: (p) => p.accepted },
  ];
}

export function OffspringScatter() {
  const [axis, setAxis] = useState<ScatterAxis>('generation');
  const records = useStudioStore((s) => s.offspringScores);
  const generations = useStudioStore((s) => s.settings.generations);
  const individualScores = useStudioStore((s) => s.individuals);
  const { primary } = useTaskView();
  const pct = (v: number) => metricText(primary, v);
  const names = individualScores.map((m) => m.name);
  const points = scatterPoints(records, axis, generations);
  const accepted = points.filter((p) => p.accepted);
  const rejected = points.filter((p) => !p.accepted);
  const individuals = Math.max(names.length, ...records.map((r) => (r.individual ?? -1) + 1));
  const domain: [number, number] = axis === 'generation' ? [0.5, Math.max(1, generations) + 0.5] : [-0.5, Math.max(1, individuals) - 0.5];
  const ticks = axis === 'generation' ? Array.from({ length: Math.max(1, generations) }, (_, i) => i + 1) : Array.from({ length: Math.max(1, individuals) }, (_, i) => i);
  const individualName = (i: number | null) => (i === null ? '–' : (names[i] ?? `#${i}`));
  return (
    <ChartFigure
      testId="offspring-scatter"
      title={`Dev ${primary.label} of every offspring${direction(primary)}`}
      fileName={`offspring-dev-${metricColumn(primary)}`}
      height={240}
      points={points.length}
      emptyText="Each offspring's dev score appears here as it is scored."
      csv={{ columns: csvColumns(primary), rows: points }}
      legend={[
        { name: 'accepted', color: SERIES.accepted },
        { name: 'rejected', color: SERIES.rejected },
      ]}
      controls={
        <label className="chart-control">
          By{' '}
          <select value={axis} onChange={(e) => setAxis(e.target.value as ScatterAxis)} aria-label="Scatter x axis">
            <option value="generation">generation</option>
            <option value="individual">individual</option>
          </select>
        </label>
      }
    >
      <ResponsiveContainer width="100%" height="100%">
        <ScatterChart margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={GRID_COLOR} />
          <XAxis
            dataKey="x"
            type="number"
            domain={domain}
            ticks={ticks}
            interval={0}
            tickFormatter={(v: number) => (axis === 'generation' ? String(v) : individualName(v))}
            stroke={AXIS_COLOR}
          />
          <YAxis dataKey="score" type="number" domain={yDomain(primary)} tickFormatter={pct} stroke={AXIS_COLOR} width={56} />
          <Tooltip
            contentStyle={TOOLTIP_STYLE}
            content={({ active, payload }) => {
              const p = active ? (payload?.[0]?.payload as ScatterPoint | undefined) : undefined;
              if (!p) return null;
              return (
                <div style={{ ...TOOLTIP_STYLE, padding: '6px 10px' }}>
                  generation {p.generation} · offspring {p.index}
                  {p.individual !== null && ` · replaces ${individualName(p.individual)}`}
                  <br />
                  dev {pct(p.score)} · {p.accepted ? 'accepted' : 'rejected'}
                </div>
              );
            }}
          />
          <Legend formatter={legendLabel} />
          <Scatter name="accepted" data={accepted} fill={SERIES.accepted} shape="circle" isAnimationActive={false} />
          <Scatter name="rejected" data={rejected} fill={SERIES.rejected} shape="cross" isAnimationActive={false} />
        </ScatterChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
