/** Drop target and file picker for checkpoints, dev sets and tokenizers, plus the sample loader. */
import { useRef, useState } from 'react';
import { addBrowserFiles, loadSample } from '../../state/actions/files';
import { droppedFiles, pickedFiles } from '../dropped-files';
import { useStudioStore } from '../../state/store';

export function DropZone() {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const folder = useRef<HTMLInputElement>(null);
  const loading = useStudioStore((s) => s.loading);
  const running = useStudioStore((s) => s.status === 'running');
  return (
    <div className="load-row">
      <div
        className={`drop-zone${over ? ' over' : ''}`}
        data-testid="drop-zone"
        role="button"
        tabIndex={0}
        aria-label="Drop ONNX or safetensors checkpoints (files or folders), a JSONL or CSV dev set and tokenizer.json here, or press Enter to choose files"
        onKeyDown={(e) => {
          if (e.key !== 'Enter' && e.key !== ' ') return;
          e.preventDefault(); // Space would scroll the page
          input.current?.click();
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
          if (!running) void droppedFiles(e.dataTransfer).then(addBrowserFiles);
        }}
      >
        <strong>Drop files here</strong>
        <span className="muted">2–8 checkpoints of one architecture: ONNX (with its .onnx_data), or safetensors folders plus one ONNX graph · dev set .jsonl or .csv · tokenizer.json · a .recipe.json to re-run</span>
        {loading && <span className="muted">Reading…</span>}
        <input
          ref={input}
          type="file"
          multiple
          hidden
          accept=".onnx,.onnx_data,.data,.safetensors,.jsonl,.json,.csv,.tsv"
          data-testid="file-input"
          onChange={(e) => {
            if (e.target.files) void addBrowserFiles(pickedFiles(e.target.files));
            e.target.value = '';
          }}
        />
      </div>
      <div className="load-buttons">
        <button type="button" onClick={() => folder.current?.click()} disabled={loading || running}>
          Choose a folder…
        </button>
        <button type="button" onClick={() => void loadSample()} disabled={loading || running}>
          Load sample
        </button>
        <button type="button" onClick={() => void loadSample('language-model')} disabled={loading || running} title="Three fine-tunes of a small GPT-style decoder on SpamAssassin mail, scored by perplexity">
          Load language-model sample
        </button>
      </div>
      {/* A Hugging Face checkpoint folder (index + shards), or a folder of several. */}
      <input
        ref={folder}
        type="file"
        hidden
        data-testid="folder-input"
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(e) => {
          if (e.target.files) void addBrowserFiles(pickedFiles(e.target.files));
          e.target.value = '';
        }}
      />
    </div>
  );
}
