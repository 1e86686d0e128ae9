/**
 * Kinship per generation (Top-k: per round): the mean Pearson kinship among the
 * population (or top-k set), the paper's saturation signal when it nears 1, and the
 * kinship of the best model to its parents.
 */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';

export function KinshipChart() {
  const history = useStudioStore((s) => s.history);
  const generations = useStudioStore((s) => s.settings.generations);
  const topK = useStudioStore((s) => (s.result?.strategy ?? s.settings.strategy) === 'kinship_topk');
  const points = history
    .filter((h) => h.kinship)
    .map((h) => ({
      generation: h.generation,
      population: Number.isNaN(h.kinship!.population) ? null : h.kinship!.population,
      bestToParents: Number.isNaN(h.kinship!.bestToParents) ? null : h.kinship!.bestToParents,
    }));
  if (points.length === 0) return null;
  const unit = topK ? 'round' : 'generation';
  return (
    <figure className="chart" data-testid="kinship-chart" data-points={points.length}>
      <figcaption>Kinship (Pearson of task vectors) per {unit}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={points} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" />
          <XAxis dataKey="generation" type="number" domain={[0, Math.max(1, generations)]} allowDecimals={false} stroke="var(--fg-muted)" />
          <YAxis domain={[-1, 1]} stroke="var(--fg-muted)" width={56} />
          <Tooltip formatter={(v) => Number(v).toFixed(4)} labelFormatter={(g) => `${unit} ${g}`} />
          <Legend />
          <Line type="monotone" dataKey="population" name={topK ? 'mean among the top-k' : 'mean among the population'} stroke="#7048e8" isAnimationActive={false} dot connectNulls />
          <Line type="monotone" dataKey="bestToParents" name="best ↔ its parents" stroke="#0c8599" isAnimationActive={false} dot connectNulls />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
