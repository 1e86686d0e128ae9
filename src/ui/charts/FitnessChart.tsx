/**
 * Live fitness per generation (the task's primary metric): best and mean of what was scored, and
 * the merged population's (CMA-ES: the best recipe's) selection score; with a validation slice,
 * the result's validation score beside them (where it falls while selection rises, the search
 * fits its selection rows).
 */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';
import type { GenerationStat } from '../../protocol/results';
import { ChartFigure } from './ChartFigure';
import { AXIS_COLOR, DOT, GRID_COLOR, SERIES, TOOLTIP_STYLE, legendLabel } from './chart-style';
import type { CsvColumn } from './csv';
import { direction, useTaskView } from './use-task';
import { metricText } from '../format';

const CSV_COLUMNS: CsvColumn<GenerationStat>[] = [
  { header: 'generation', value: (h) => h.generation },
  { header: 'best', value: (h) => h.best },
  { header: 'mean', value: (h) => h.mean },
  { header: 'merged', value: (h) => h.merged },
  { header: 'accepted', value: (h) => h.accepted },
  { header: 'evaluated', value: (h) => h.evaluated },
  { header: 'evaluations', value: (h) => h.evaluations },
  { header: 'validation', value: (h) => h.validation ?? '' },
];

const LEGEND = [
  { name: 'best', color: SERIES.best },
  { name: 'mean', color: SERIES.mean },
  { name: 'merged population', color: SERIES.merged },
];
const VALIDATION_LEGEND = { name: 'validation (result so far)', color: SERIES.rate };

/** A ring around where the best's filled marker sits when the two agree. */
const MERGED_DOT = { ...DOT, r: 6, stroke: SERIES.merged, strokeWidth: 2, strokeOpacity: 1 } as const;
const BEST_DOT = { r: 3, fill: SERIES.best, stroke: SERIES.best } as const;

export function FitnessChart() {
  const history = useStudioStore((s) => s.history);
  const generations = useStudioStore((s) => s.settings.generations);
  const { primary } = useTaskView();
  const pct = (v: number) => metricText(primary, v);
  const validated = history.some((h) => h.validation !== undefined);
  return (
    <ChartFigure
      testId="fitness-chart"
      title={`Dev ${primary.label} per generation${direction(primary)}`}
      fileName="fitness-per-generation"
      height={260}
      points={history.length}
      emptyText={`Best, mean and merged dev ${primary.label} appear here as generations finish.`}
      csv={{ columns: CSV_COLUMNS, rows: history }}
      legend={validated ? [...LEGEND, VALIDATION_LEGEND] : LEGEND}
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
          {/* In 'merged' mode the best is often the merged score: merged is a wide, pale band with large
              rings, best a thin dashed line with small filled markers drawn over it, so both show. */}
          <Line type="monotone" dataKey="merged" name="merged population" stroke={SERIES.merged} strokeWidth={6} strokeOpacity={0.45} isAnimationActive={false} dot={MERGED_DOT} activeDot={{ r: 7 }} />
          <Line type="monotone" dataKey="best" name="best" stroke={SERIES.best} strokeWidth={2} strokeDasharray="6 4" isAnimationActive={false} dot={BEST_DOT} />
          {validated && <Line type="monotone" dataKey="validation" name={VALIDATION_LEGEND.name} stroke={VALIDATION_LEGEND.color} strokeWidth={2} isAnimationActive={false} dot={{ r: 3, fill: VALIDATION_LEGEND.color }} />}
        </LineChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
