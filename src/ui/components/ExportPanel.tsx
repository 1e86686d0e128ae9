/**
 * Export choices for a finished run: safetensors in F32/F16/BF16, one file or sharded at a
 * chosen size (Hugging Face layout, delivered as one zip), under the checkpoints' own tensor
 * names when they came as safetensors; the merged ONNX model; the recipe (JSON, or as a
 * mergekit YAML config); a model card; or everything in one zip.
 */
import { useState } from 'react';
import { create } from 'zustand';
import { exportResult } from '../../state/actions/export';
import { useStudioStore } from '../../state/store';
import type { ExportOptions, StudioExportKind } from '../../protocol/files';
import { FieldLabel } from './fields';

const BUTTONS: { kind: StudioExportKind; label: string; primary?: boolean; title?: string }[] = [
  { kind: 'safetensors', label: 'Export safetensors', primary: true },
  { kind: 'onnx', label: 'Export ONNX' },
  { kind: 'recipe', label: 'Export recipe' },
  { kind: 'mergekit-yaml', label: 'Export mergekit YAML', title: 'The recipe as a mergekit config (mergekit-yaml, or evolver-studio merge --config); what mergekit cannot express is said' },
  { kind: 'model-card', label: 'Export model card' },
  { kind: 'zip', label: 'Export all (.zip)' },
];

interface ExportChoices {
  /** null until chosen: then the checkpoints' own dtype (BF16 in, BF16 out), else F32. */
  dtype: ExportOptions['dtype'] | null;
  shardMb: string;
  names: ExportOptions['names'];
  /** The base's Hub id for the model card's base_model (empty: from its config.json, else none). */
  baseModelId: string;
}

/** Kept across runs (the panel unmounts while a run goes): a user picks these once. */
const useExportChoices = create<ExportChoices>(() => ({ dtype: null, shardMb: '0', names: 'source', baseModelId: '' }));
const choose = (choice: Partial<ExportChoices>) => useExportChoices.setState(choice);

export function ExportPanel() {
  const fromSafetensors = useStudioStore((s) => s.snapshot.graph !== null);
  const sourceDtype = useStudioStore((s) => s.snapshot.checkpoints.find((c) => c.format === 'safetensors')?.dtype);
  const hasBase = useStudioStore((s) => s.snapshot.checkpoints.some((c) => c.isBase));
  const fromStore = useStudioStore((s) => s.resultFromStore);
  const { dtype: chosen, shardMb, names, baseModelId } = useExportChoices();
  const dtype = chosen ?? (sourceDtype === 'BF16' || sourceDtype === 'F16' ? sourceDtype : 'F32');
  const [busy, setBusy] = useState(false);
  const shardBytes = Math.max(0, Math.round(Number(shardMb) * 1e6)) || 0;
  const run = async (kind: StudioExportKind) => {
    setBusy(true);
    try {
      await exportResult({ kind, dtype, shardBytes, names, ...(hasBase && baseModelId.trim() ? { baseModelId: baseModelId.trim() } : {}) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="export" role="group" aria-label="Export">
      {fromStore && (
        <p className="muted" data-testid="result-from-store">
          Reopened from this browser’s store: the first export makes the weights again from the run’s stored scores (no selection score is evaluated again).
        </p>
      )}
      <label className="field">
        <FieldLabel label="Weights dtype" help="The safetensors' float type: F32 keeps every bit of the merge; BF16 and F16 halve the file (BF16 in, BF16 out by default)" topic="exports" />
        <select value={dtype} onChange={(e) => choose({ dtype: e.target.value as ExportOptions['dtype'] })}>
          <option value="F32">F32</option>
          <option value="F16">F16</option>
          <option value="BF16">BF16</option>
        </select>
      </label>
      <label className="field">
        <FieldLabel label="Shard size (MB)" help="Split the safetensors into shards of at most this size, with model.safetensors.index.json, as the Hub stores large models (0: one file)" topic="exports" />
        <input type="number" min={0} step="any" value={shardMb} onChange={(e) => choose({ shardMb: e.target.value })} />
      </label>
      {fromSafetensors && (
        <label className="field">
          <FieldLabel label="Tensor names" help="Safetensors checkpoints ran on an ONNX graph: export under the checkpoints' own tensor names (for transformers) or the graph's initializer names" topic="exports" />
          <select value={names} onChange={(e) => choose({ names: e.target.value as ExportOptions['names'] })}>
            <option value="source">the checkpoints’ own</option>
            <option value="graph">the ONNX graph’s</option>
          </select>
        </label>
      )}
      {hasBase && (
        <label className="field">
          <FieldLabel label="Base model id (Hub)" help="The base model's id on the Hugging Face Hub (owner/name), written as base_model in the model card; left out when empty, unless the base's config.json names one" topic="exports" />
          <input type="text" value={baseModelId} placeholder="owner/name" spellCheck={false} onChange={(e) => choose({ baseModelId: e.target.value })} />
        </label>
      )}
      {BUTTONS.map((b) => (
        <button key={b.kind} type="button" className={b.primary ? 'primary' : undefined} title={b.title} disabled={busy} onClick={() => void run(b.kind)}>
          {busy && fromStore && b.primary ? 'Making the weights again…' : b.label}
        </button>
      ))}
    </div>
  );
}
