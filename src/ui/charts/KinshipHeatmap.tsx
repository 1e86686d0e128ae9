/**
 * Pairwise model kinship as a heatmap table: Pearson, cosine or Euclidean distance of
 * task vectors, over all merged parameters or one layer. A table (not a canvas) so the
 * values are readable by screen readers and selectable; cell sizes are fixed so the
 * layout does not jump when a new generation's matrix arrives.
 */
import { useStudioStore } from '../../state/store';
import { ALL_LAYERS } from '../../state/slices/kinship';
import { KINSHIP_METRIC_LABELS, type KinshipMetricName, type KinshipMetrics } from '../../protocol/results';

function cellColor(metric: KinshipMetricName, value: number, maxDistance: number): string {
  if (Number.isNaN(value)) return 'transparent';
  if (metric === 'euclidean') {
    // Distance: darker = closer (more kin), to read the same way as the similarities.
    const closeness = maxDistance > 0 ? 1 - value / maxDistance : 1;
    return `color-mix(in srgb, var(--accent) ${Math.round(10 + 60 * closeness)}%, transparent)`;
  }
  const tone = value >= 0 ? 'var(--accent)' : 'var(--danger)';
  return `color-mix(in srgb, ${tone} ${Math.round(10 + 60 * Math.min(1, Math.abs(value)))}%, transparent)`;
}

function format(metric: KinshipMetricName, value: number): string {
  if (Number.isNaN(value)) return '–';
  return metric === 'euclidean' ? value.toPrecision(4) : value.toFixed(4);
}

export function KinshipHeatmap() {
  const report = useStudioStore((s) => s.kinship);
  const error = useStudioStore((s) => s.kinshipError);
  const generation = useStudioStore((s) => s.kinshipGeneration);
  const strategy = useStudioStore((s) => s.result?.strategy ?? s.settings.strategy);
  const metric = useStudioStore((s) => s.kinshipMetric);
  const layer = useStudioStore((s) => s.kinshipLayer);
  const setView = useStudioStore((s) => s.setKinshipView);
  const members = useStudioStore((s) => s.snapshot.checkpoints.filter((c) => !c.isBase).length);
  if (!report) return error ? <p className="muted">Kinship is unavailable: {error}</p> : null;
  const matrix: KinshipMetrics[][] = (layer === ALL_LAYERS ? null : report.layers.find((l) => l.name === layer)?.matrix) ?? report.overall;
  const maxDistance = Math.max(0, ...matrix.flatMap((row) => row.map((m) => m.euclidean)).filter(Number.isFinite));
  const when = generation === null ? 'the checkpoints as loaded' : strategy === 'kinship_topk' ? `the top-k set after round ${generation}` : `the population after generation ${generation}`;
  return (
    <figure className="kinship" data-testid="kinship-heatmap" data-generation={generation ?? ''}>
      <figcaption>
        Model kinship of {when} <span className="muted">({report.reference.label})</span>
      </figcaption>
      <div className="settings">
        <label className="field">
          <span>Kinship metric</span>
          <select value={metric} aria-label="Kinship metric" onChange={(e) => setView({ kinshipMetric: e.target.value as KinshipMetricName })}>
            {(Object.keys(KINSHIP_METRIC_LABELS) as KinshipMetricName[]).map((m) => (
              <option key={m} value={m}>
                {KINSHIP_METRIC_LABELS[m]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Layer</span>
          <select value={layer} aria-label="Kinship layer" onChange={(e) => setView({ kinshipLayer: e.target.value })}>
            <option value={ALL_LAYERS}>all merged parameters</option>
            {report.layers.map((l) => (
              <option key={l.name} value={l.name}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {/* Room for one more row than the checkpoints: a run adds the merged model, and the page below must not jump. */}
      <div style={{ minHeight: `${(members + 2) * 34}px`, overflowX: 'auto' }}>
        <table className="heatmap" aria-label={`${KINSHIP_METRIC_LABELS[metric]} between models`}>
          <thead>
            <tr>
              <th />
              {report.names.map((name) => (
                <th key={name} scope="col">
                  {name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.names.map((rowName, i) => (
              <tr key={rowName}>
                <th scope="row">{rowName}</th>
                {matrix[i]!.map((m, j) => (
                  <td
                    key={report.names[j]}
                    data-testid={`kinship-${i}-${j}`}
                    data-value={m[metric]}
                    style={{ background: i === j ? 'var(--grid)' : cellColor(metric, m[metric], maxDistance) }}
                    title={`${rowName} ↔ ${report.names[j]}: ${KINSHIP_METRIC_LABELS[metric]} ${format(metric, m[metric])}`}
                  >
                    {format(metric, m[metric])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
