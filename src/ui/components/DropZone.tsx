/** Drop target and file picker for checkpoints, dev sets and tokenizers, plus the sample loader. */
import { useRef, useState } from 'react';
import { addBrowserFiles, loadSample } from '../../state/actions';
import { useStudioStore } from '../../state/store';

export function DropZone() {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const loading = useStudioStore((s) => s.loading);
  const running = useStudioStore((s) => s.status === 'running');
  return (
    <div className="load-row">
      <div
        className={`drop-zone${over ? ' over' : ''}`}
        data-testid="drop-zone"
        role="button"
        tabIndex={0}
        aria-label="Drop ONNX checkpoints, a JSONL dev set and tokenizer.json here, or press Enter to choose files"
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') input.current?.click();
        }}
        onClick={() => input.current?.click()}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (!running) void addBrowserFiles(e.dataTransfer.files);
        }}
      >
        <strong>Drop files here</strong>
        <span className="muted">2–8 ONNX checkpoints of one architecture · dev set .jsonl · tokenizer.json · a .recipe.json to re-run</span>
        {loading && <span className="muted">Reading…</span>}
        <input
          ref={input}
          type="file"
          multiple
          hidden
          accept=".onnx,.jsonl,.json"
          data-testid="file-input"
          onChange={(e) => {
            if (e.target.files) void addBrowserFiles(e.target.files);
            e.target.value = '';
          }}
        />
      </div>
      <button type="button" onClick={() => void loadSample()} disabled={loading || running}>
        Load sample
      </button>
    </div>
  );
}
