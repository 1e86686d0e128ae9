/**
 * Safetensors checkpoints run on one ONNX graph: which graph, which checkpoint tensor feeds
 * which initializer (by name, or by value when the exporter renamed or transposed it), and
 * what is left unmapped, so a user can see that every trained tensor is really merged.
 */
import { useStudioStore } from '../../state/store';

export function GraphMappingPanel() {
  const graph = useStudioStore((s) => s.snapshot.graph);
  if (!graph) return null;
  const byValue = graph.mapped.filter((m) => m.how === 'value').length;
  const transposed = graph.mapped.filter((m) => m.transposed).length;
  const unmapped = graph.unmappedInitializers.length + graph.unmappedTensors.length;
  return (
    <details className="mapping" data-testid="graph-mapping" open={unmapped > 0}>
      <summary>
        Safetensors run on the graph <strong>{graph.file}</strong>: {graph.mapped.length} tensors mapped ({graph.mapped.length - byValue} by name, {byValue} by value
        {graph.reference ? ` against ${graph.reference}` : ''}; {transposed} transposed)
        {unmapped > 0 ? (
          <span className="warning" data-testid="unmapped-note">
            {' '}
            · {graph.unmappedInitializers.length} graph initializers and {graph.unmappedTensors.length} checkpoint tensors unmapped
          </span>
        ) : (
          ' · nothing unmapped'
        )}
      </summary>
      {graph.unmappedInitializers.length > 0 && (
        <p className="warning">
          Not fed by any checkpoint (every model keeps {graph.file}’s values, so they are not merged): {graph.unmappedInitializers.join(', ')}
        </p>
      )}
      {graph.unmappedTensors.length > 0 && (
        <p className="warning">Checkpoint tensors the graph has no place for (exported from the first model unchanged): {graph.unmappedTensors.join(', ')}</p>
      )}
      <div className="scroll-box">
        <table className="table compact" aria-label="Tensor mapping">
          <thead>
            <tr>
              <th>Graph initializer</th>
              <th>Checkpoint tensor</th>
              <th>Matched</th>
            </tr>
          </thead>
          <tbody>
            {graph.mapped.map((m) => (
              <tr key={m.initializer}>
                <td>{m.initializer}</td>
                <td>{m.tensor}</td>
                <td>
                  by {m.how}
                  {m.transposed ? ', transposed' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
