/**
 * "New project", and the questions a drop is asked before it is loaded: replace checkpoints
 * of the same name, or start a new project with checkpoints that cannot join the loaded ones.
 * Nothing already loaded changes until the user answers.
 */
import { useState } from 'react';
import { useStudioStore } from '../../state/store';
import { answerDropQuestion } from '../../state/actions/files';
import { startNewProject } from '../../state/actions/project';

export function NewProjectButton() {
  const open = useStudioStore((s) => s.snapshot.checkpoints.length > 0 || s.snapshot.dataset !== null || s.snapshot.tokenizer !== null);
  const hasResult = useStudioStore((s) => s.result !== null);
  const busy = useStudioStore((s) => s.loading || s.status === 'running');
  const [confirming, setConfirming] = useState(false);
  if (!open) return null;
  if (!confirming) {
    return (
      <button type="button" className="new-project" disabled={busy} onClick={() => setConfirming(true)}>
        New project
      </button>
    );
  }
  return (
    <div className="question" role="alertdialog" aria-label="Start a new project?">
      <p>
        Start a new project? The loaded files{hasResult ? ' and the result' : ''} are closed, and this browser’s stored copy of them is deleted. Export
        what you want to keep first.
      </p>
      <div className="run-buttons">
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => {
            setConfirming(false);
            void startNewProject();
          }}
        >
          Close this project
        </button>
        <button type="button" onClick={() => setConfirming(false)}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function DropQuestionPrompt() {
  const question = useStudioStore((s) => s.dropQuestion);
  const busy = useStudioStore((s) => s.loading || s.status === 'running');
  if (!question) return null;
  const replace = question.kind === 'replace';
  return (
    <div className="question" role="alertdialog" aria-label={replace ? 'Replace loaded checkpoints?' : 'Start a new project with these files?'} data-testid="drop-question">
      {replace ? (
        <p>
          Already loaded: {question.checkpoints.join(', ')}. Replace {question.checkpoints.length === 1 ? 'it' : 'them'} with the dropped file
          {question.files.length === 1 ? '' : 's'}?
        </p>
      ) : (
        <p>
          The dropped checkpoints cannot join the loaded ones ({question.reason}). Start a new project with the dropped files? The loaded project is
          closed; until you answer, nothing changes.
        </p>
      )}
      <div className="run-buttons">
        <button type="button" className="primary" disabled={busy} onClick={() => void answerDropQuestion('yes')}>
          {replace ? 'Replace' : 'Open them as a new project'}
        </button>
        <button type="button" disabled={busy} onClick={() => void answerDropQuestion('no')}>
          {replace ? 'Keep the loaded ones' : 'Keep the current project'}
        </button>
      </div>
    </div>
  );
}
