/** Live fitness per generation (the task's primary metric): best and mean of what was scored, and the merged population's dev score. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';
import type { GenerationStat } from '../../protocol/results';
import { ChartFigure } from './ChartFigure';
import { AXIS_COLOR, DOT, GRID_COLOR, SERIES, TOOLTIP_STYLE, legendLabel } from './chart-style';
import type { CsvColumn } from './csv';
import { useTaskView } from './use-task';
import { metricText } from '../format';

const CSV_COLUMNS: CsvColumn<GenerationStat>[] = [
  { header: 'generation', value: (h) => h.generation },
  { header: 'best', value: (h) => h.best },
  { header: 'mean', value: (h) => h.mean },
  { header: 'merged', value: (h) => h.merged },
  { header: 'accepted', value: (h) => h.accepted },
  { header: 'evaluated', value: (h) => h.evaluated },
  { header: 'evaluations', value: (h) => h.evaluations },
];

const LEGEND = [
  { name: 'best', color: SERIES.best },
  { name: 'mean', color: SERIES.mean },
  { name: 'merged population', color: SERIES.merged },
];

export function FitnessChart() {
  const history = useStudioStore((s) => s.history);
  const generations = useStudioStore((s) => s.settings.generations);
  const { primary } = useTaskView();
  const pct = (v: number) => metricText(primary, v);
  return (
    <ChartFigure
      testId="fitness-chart"
      title={`Dev ${primary.label} per generation`}
      fileName="fitness-per-generation"
      height={260}
      points={history.length}
      emptyText={`Best, mean and merged dev ${primary.label} appear here as generations finish.`}
      csv={{ columns: CSV_COLUMNS, rows: history }}
      legend={LEGEND}
    >
      {/* Fixed x-domain so the axis does not rescale while points arrive. */}
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={history} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={GRID_COLOR} />
          <XAxis dataKey="generation" type="number" domain={[0, Math.max(1, generations)]} allowDecimals={false} stroke={AXIS_COLOR} />
          <YAxis domain={['auto', 'auto']} tickFormatter={pct} stroke={AXIS_COLOR} width={56} />
          <Tooltip formatter={(v) => pct(Number(v))} labelFormatter={(g) => `generation ${g}`} contentStyle={TOOLTIP_STYLE} />
          <Legend formatter={legendLabel} />
          <Line type="monotone" dataKey="mean" name="mean" stroke={SERIES.mean} isAnimationActive={false} dot={DOT} />
          <Line type="monotone" dataKey="merged" name="merged population" stroke={SERIES.merged} strokeWidth={2} isAnimationActive={false} dot={DOT} />
          {/* Drawn last and dashed: in 'merged' mode the best is often the merged score, and would hide under it. */}
          <Line type="monotone" dataKey="best" name="best" stroke={SERIES.best} strokeDasharray="6 4" isAnimationActive={false} dot={DOT} />
        </LineChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
