/** Top-k merging's result as a family tree: each merge with its two parents, down to the checkpoints. */
import type { LineageNode } from '../../protocol/results';
import { metricText } from '../format';
import { primaryValue } from '../../eval/tasks/registry';
import { taskView } from '../charts/use-task';

function Node({ lineage, id }: { lineage: readonly LineageNode[]; id: number }) {
  const node = lineage[id]!;
  const kin = node.parentKinship === null || Number.isNaN(node.parentKinship) ? null : node.parentKinship.toFixed(3);
  return (
    <li>
      <span className={node.parents ? 'lineage-merge' : 'lineage-seed'}>
        <strong>{node.name}</strong> · dev {metricText(taskView(node.fitness.task).primary, primaryValue(node.fitness))}
        {node.parents ? ` · round ${node.round}` : ' · checkpoint'}
        {node.exploration ? ' · exploration (lowest kinship)' : ''}
        {kin !== null ? ` · parents' kinship ${kin}` : ''}
      </span>
      {node.parents && (
        <ul>
          <Node lineage={lineage} id={node.parents[0]} />
          <Node lineage={lineage} id={node.parents[1]} />
        </ul>
      )}
    </li>
  );
}

export function LineageTree({ lineage, resultId }: { lineage: readonly LineageNode[]; resultId: number }) {
  const merges = lineage.filter((l) => l.parents).length;
  return (
    <figure className="lineage" data-testid="lineage">
      <figcaption>
        Lineage of the result <span className="muted">({merges} merges made in all; the top-k kept {lineage.filter((l) => l.inTopK).length})</span>
      </figcaption>
      <ul className="lineage-tree">
        <Node lineage={lineage} id={resultId} />
      </ul>
    </figure>
  );
}
