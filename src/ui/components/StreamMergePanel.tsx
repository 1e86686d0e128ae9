/**
 * "Merge to file": checkpoints picked here (files, or a sharded checkpoint's folder) merged
 * tensor by tensor with the merger set above, straight into a file (showSaveFilePicker where
 * the browser has it, else a download assembled from parts), without loading them into the
 * studio's in-memory population: for checkpoints larger than this browser's memory allows.
 * Says the output's size before it starts, and the progress per tensor and bytes with an ETA.
 */
import { useState } from 'react';
import { useStudioStore } from '../../state/store';
import { describeMergeToFile, mergeToFile, openMergeFiles, type OpenedFiles } from '../../state/actions/stream-merge';
import type { StreamProgress } from '../../merge/stream-merge';
import type { NamedBlob } from '../../protocol/files';
import { FieldLabel } from './fields';

const formatBytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`);

function named(list: FileList | null): NamedBlob[] {
  return [...(list ?? [])].map((f) => ({ name: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, blob: f }));
}

export function StreamMergePanel() {
  const params = useStudioStore((s) => s.settings.merger);
  const [picked, setPicked] = useState<NamedBlob[]>([]);
  const [opened, setOpened] = useState<OpenedFiles | null>(null);
  const [base, setBase] = useState<string | null>(null);
  const [dtype, setDtype] = useState<'F32' | 'F16' | 'BF16' | null>(null);
  const [progress, setProgress] = useState<{ p: StreamProgress; started: number } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const add = async (files: NamedBlob[]) => {
    const all = [...picked.filter((p) => !files.some((f) => f.name === p.name)), ...files];
    setError(null);
    setStatus(null);
    try {
      setOpened(await openMergeFiles(all));
      setPicked(all);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const plan = opened ? describeMergeToFile({ opened, base, params, dtype }) : null;
  const run = async () => {
    if (!opened) return;
    setBusy(true);
    setError(null);
    const started = performance.now();
    try {
      const done = await mergeToFile({ opened, base, params, dtype }, (p) => setProgress({ p, started }));
      setStatus(`Merged ${done.merged} of ${done.tensors} tensors: ${formatBytes(done.bytes)} ${done.savedTo === 'file' ? 'written to the chosen file' : 'downloaded'}.`);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const eta = (() => {
    if (!progress || progress.p.bytesRead === 0) return null;
    const elapsed = (performance.now() - progress.started) / 1000;
    const fraction = progress.p.bytesRead / Math.max(1, progress.p.totalBytes);
    return Math.max(0, Math.round((elapsed * (1 - fraction)) / fraction));
  })();

  return (
    <section className="stream-merge" aria-label="Merge to file" data-testid="stream-merge">
      <h3>Merge to file</h3>
      <p className="muted">Merges safetensors checkpoints tensor by tensor straight into a file, with the merger above, without loading them into the studio: for checkpoints too large for this browser. Weight-only methods.</p>
      <label className="field">
        <FieldLabel label="Checkpoint files" help="One or more .safetensors files; a sharded checkpoint as its shards with model.safetensors.index.json (or pick its folder below)" />
        <input type="file" multiple accept=".safetensors,.json" data-testid="stream-merge-files" disabled={busy} onChange={(e) => void add(named(e.target.files))} />
      </label>
      <label className="field">
        <FieldLabel label="Checkpoint folder" help="A sharded checkpoint's folder (its shards and index)" />
        <input type="file" {...({ webkitdirectory: '' } as Record<string, string>)} disabled={busy} onChange={(e) => void add(named(e.target.files))} />
      </label>
      {opened && (
        <>
          <label className="field">
            <FieldLabel label="Base" help="The pre-trained checkpoint (task arithmetic, TIES, DARE, …); SLERP and linear read it as one of their models" />
            <select value={base ?? ''} disabled={busy} onChange={(e) => setBase(e.target.value || null)} data-testid="stream-merge-base">
              <option value="">none</option>
              {opened.names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <FieldLabel label="Weights dtype" help="Each tensor's input dtype (as mergekit), or one for all" />
            <select value={dtype ?? ''} disabled={busy} onChange={(e) => setDtype((e.target.value || null) as typeof dtype)}>
              <option value="">as the inputs</option>
              <option value="F32">F32</option>
              <option value="F16">F16</option>
              <option value="BF16">BF16</option>
            </select>
          </label>
          <p data-testid="stream-merge-plan">
            {opened.names.length} checkpoint{opened.names.length === 1 ? '' : 's'} ({opened.names.join(', ')}) with {params.method}
            {plan?.problem ? '' : `: the file will be ${formatBytes(plan?.bytes ?? 0)}.`}
          </p>
          {plan?.memory && (
            <p className="muted" data-testid="stream-merge-memory">
              In memory (Merge once) these checkpoints need about {formatBytes(plan.memory.inMemoryBytes)} of float32 copies
              {plan.memory.inMemoryBytes > plan.memory.heapLimit ? `, more than the ${formatBytes(plan.memory.heapLimit)} a WASM heap holds` : ''}; merged to file, about{' '}
              {formatBytes(plan.memory.streamedBytes)} at a time.
            </p>
          )}
          {plan?.problem && (
            <p className="error" role="alert">
              {plan.problem}
            </p>
          )}
          <button type="button" className="primary" disabled={busy || !!plan?.problem} onClick={() => void run()} data-testid="stream-merge-run">
            Merge to file
          </button>
        </>
      )}
      {progress && (
        <p data-testid="stream-merge-progress">
          <progress max={progress.p.totalBytes} value={progress.p.bytesRead} /> tensor {progress.p.done}/{progress.p.count}, {formatBytes(progress.p.bytesRead)} of {formatBytes(progress.p.totalBytes)} read
          {eta !== null && busy ? `, about ${eta} s left` : ''}
        </p>
      )}
      {status && <p data-testid="stream-merge-done">{status}</p>}
      {error && (
        <p className="error" role="alert" data-testid="stream-merge-error">
          {error}
        </p>
      )}
    </section>
  );
}
