/** Acceptance rate per generation: accepted offspring / offspring scored, live from the 'offspring' events. */
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';
import { ChartFigure } from './ChartFigure';
import { AXIS_COLOR, GRID_COLOR, SERIES, TOOLTIP_STYLE, legendLabel } from './chart-style';
import { acceptanceByGeneration, type AcceptancePoint } from './offspring-series';
import type { CsvColumn } from './csv';

const pct = (v: number) => `${Math.round(v * 100)}%`;

const CSV_COLUMNS: CsvColumn<AcceptancePoint>[] = [
  { header: 'generation', value: (p) => p.generation },
  { header: 'offspring', value: (p) => p.offspring },
  { header: 'accepted', value: (p) => p.accepted },
  { header: 'acceptance_rate', value: (p) => p.rate },
];

export function AcceptanceChart() {
  const records = useStudioStore((s) => s.offspringScores);
  const generations = useStudioStore((s) => s.settings.generations);
  const topK = useStudioStore((s) => s.settings.strategy === 'kinship_topk');
  // Every planned generation has its slot from the start: bars fill in, the axis stays put.
  const points = acceptanceByGeneration(records, topK ? 0 : generations);
  const scored = points.filter((p) => p.offspring > 0);
  return (
    <ChartFigure
      testId="acceptance-chart"
      title="Acceptance rate per generation"
      fileName="acceptance-rate-per-generation"
      height={240}
      points={scored.length}
      emptyText="The share of offspring kept appears here as they are scored."
      csv={{ columns: CSV_COLUMNS, rows: scored }}
      legend={[{ name: 'accepted / offspring', color: SERIES.rate }]}
    >
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={points} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={GRID_COLOR} vertical={false} />
          <XAxis dataKey="generation" stroke={AXIS_COLOR} />
          <YAxis domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tickFormatter={pct} stroke={AXIS_COLOR} width={56} />
          <Tooltip
            cursor={{ fill: 'var(--grid)' }}
            contentStyle={TOOLTIP_STYLE}
            labelFormatter={(g) => `generation ${g}`}
            formatter={(_, __, item) => {
              const p = item.payload as AcceptancePoint;
              return p.rate === null ? 'not scored yet' : `${pct(p.rate)} (${p.accepted} of ${p.offspring})`;
            }}
          />
          <Legend formatter={legendLabel} />
          <Bar dataKey="rate" name="accepted / offspring" fill={SERIES.rate} isAnimationActive={false} maxBarSize={48} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
