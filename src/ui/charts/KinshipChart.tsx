/**
 * Kinship per generation (Top-k: per round): the mean Pearson kinship among the
 * population (or top-k set), the paper's saturation signal when it nears 1, and the
 * kinship of the best model to its parents. Drawn empty before a run, so its space is
 * reserved and the page does not jump when the first generation arrives.
 */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';
import { ChartFigure } from './ChartFigure';
import { AXIS_COLOR, DOT, GRID_COLOR, SERIES, TOOLTIP_STYLE, legendLabel } from './chart-style';
import type { CsvColumn } from './csv';

interface KinshipPoint {
  generation: number;
  population: number | null;
  bestToParents: number | null;
}

const CSV_COLUMNS: CsvColumn<KinshipPoint>[] = [
  { header: 'generation', value: (p) => p.generation },
  { header: 'population_pearson', value: (p) => p.population },
  { header: 'best_to_parents_pearson', value: (p) => p.bestToParents },
];

export function KinshipChart() {
  const history = useStudioStore((s) => s.history);
  const generations = useStudioStore((s) => s.settings.generations);
  const topK = useStudioStore((s) => (s.result?.strategy ?? s.settings.strategy) === 'kinship_topk');
  const points: KinshipPoint[] = history
    .filter((h) => h.kinship)
    .map((h) => ({
      generation: h.generation,
      population: Number.isNaN(h.kinship!.population) ? null : h.kinship!.population,
      bestToParents: Number.isNaN(h.kinship!.bestToParents) ? null : h.kinship!.bestToParents,
    }));
  const unit = topK ? 'round' : 'generation';
  const populationName = topK ? 'mean among the top-k' : 'mean among the population';
  return (
    <ChartFigure
      testId="kinship-chart"
      title={`Kinship (Pearson of task vectors) per ${unit}`}
      fileName={`kinship-per-${unit}`}
      height={240}
      points={points.length}
      emptyText={`Kinship of the population appears here each ${unit}.`}
      csv={{ columns: CSV_COLUMNS, rows: points }}
      legend={[
        { name: populationName, color: SERIES.kinshipPopulation },
        { name: 'best ↔ its parents', color: SERIES.kinshipParents },
      ]}
    >
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={points} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={GRID_COLOR} />
          <XAxis dataKey="generation" type="number" domain={[0, Math.max(1, generations)]} allowDecimals={false} stroke={AXIS_COLOR} />
          <YAxis domain={[-1, 1]} stroke={AXIS_COLOR} width={56} />
          <Tooltip formatter={(v) => Number(v).toFixed(4)} labelFormatter={(g) => `${unit} ${g}`} contentStyle={TOOLTIP_STYLE} />
          <Legend formatter={legendLabel} />
          <Line type="monotone" dataKey="population" name={populationName} stroke={SERIES.kinshipPopulation} isAnimationActive={false} dot={DOT} connectNulls />
          <Line type="monotone" dataKey="bestToParents" name="best ↔ its parents" stroke={SERIES.kinshipParents} isAnimationActive={false} dot={DOT} connectNulls />
        </LineChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
