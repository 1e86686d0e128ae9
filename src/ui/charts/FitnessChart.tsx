/** Live fitness per generation: best and mean of what was scored, and the merged population's dev score. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStudioStore } from '../../state/store';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function FitnessChart() {
  const history = useStudioStore((s) => s.history);
  const generations = useStudioStore((s) => s.settings.generations);
  return (
    <figure className="chart" data-testid="fitness-chart" data-points={history.length}>
      <figcaption>Dev accuracy per generation</figcaption>
      {/* Fixed height and x-domain so the layout does not jump while points arrive. */}
      <ResponsiveContainer width="100%" height={280}>
        <LineChart data={history} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" />
          <XAxis dataKey="generation" type="number" domain={[0, Math.max(1, generations)]} allowDecimals={false} stroke="var(--fg-muted)" />
          <YAxis domain={['auto', 'auto']} tickFormatter={pct} stroke="var(--fg-muted)" width={56} />
          <Tooltip formatter={(v) => pct(Number(v))} labelFormatter={(g) => `generation ${g}`} />
          <Legend />
          <Line type="monotone" dataKey="best" name="best" stroke="#2f9e44" isAnimationActive={false} dot />
          <Line type="monotone" dataKey="mean" name="mean" stroke="#1c7ed6" isAnimationActive={false} dot />
          <Line type="monotone" dataKey="merged" name="merged population" stroke="#e8590c" strokeWidth={2} isAnimationActive={false} dot />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
