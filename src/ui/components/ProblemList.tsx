/** Per-file problems from the last load. Text only: names come from user files and are never rendered as HTML. */
import { useStudioStore } from '../../state/store';

export function ProblemList() {
  const problems = useStudioStore((s) => s.problems);
  if (problems.length === 0) return null;
  return (
    <ul className="problems" role="alert" data-testid="problems">
      {problems.map((p, i) => (
        <li key={i}>{p.message}</li>
      ))}
    </ul>
  );
}
