/** The recipe: merge method and its parameters, and the Evolver's F, CR, generations, seed and selection mode. */
import { useStudioStore } from '../../state/store';
import type { EvolverSettings, SelectionMode } from '../../engine/types';
import { useState } from 'react';
import { METHOD_INFO, parseRules, type MergeMethod, type MergeParams } from '../../engine/merge-params';

interface NumberInputProps {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  hint: string;
  /** Receives the value clamped to [min, max], rounded when step ≥ 1. */
  onValue(value: number): void;
}

/** A labelled number input that only reports finite, clamped values. */
function NumberInput({ label, value, min, max, step, hint, onValue }: NumberInputProps) {
  const disabled = useStudioStore((s) => s.status === 'running');
  return (
    <label className="field" title={hint}>
      <span>{label}</span>
      <input
        type="number"
        min={min}
        max={max}
        step={step}
        value={value}
        disabled={disabled}
        aria-label={label}
        onChange={(e) => {
          const parsed = Number(e.target.value);
          if (!Number.isFinite(parsed)) return;
          const clamped = Math.min(max, Math.max(min, parsed));
          onValue(step >= 1 ? Math.round(clamped) : clamped);
        }}
      />
    </label>
  );
}

type FieldProps<K extends string> = Omit<NumberInputProps, 'value' | 'onValue'> & { field: K };

function NumberField({ field, ...rest }: FieldProps<'f' | 'cr' | 'generations' | 'seed'>) {
  const value = useStudioStore((s) => s.settings[field]);
  return <NumberInput {...rest} value={value} onValue={(v) => useStudioStore.getState().setSettings({ [field]: v } as Partial<EvolverSettings>)} />;
}

function MergeField({ field, ...rest }: FieldProps<'lambda' | 'density' | 't' | 'alpha' | 'seed'>) {
  const value = useStudioStore((s) => s.settings.merger[field]);
  const setMerger = (v: number) => {
    const s = useStudioStore.getState();
    s.setSettings({ merger: { ...s.settings.merger, [field]: v } as MergeParams });
  };
  return <NumberInput {...rest} value={value} onValue={setMerger} />;
}

/** Per-tensor rules as JSON: depth lists and name filters (mergekit style). */
function RulesField() {
  const disabled = useStudioStore((s) => s.status === 'running');
  const rules = useStudioStore((s) => s.settings.merger.rules);
  const [text, setText] = useState(rules ? JSON.stringify(rules) : '');
  const error = useStudioStore((s) => s.recipeError);
  return (
    <label className="field rules" title='e.g. {"density": [0.2, 0.8], "lambda": [{"filter": "head", "value": 0.5}, {"value": 1}]}'>
      <span>Per-tensor rules (JSON)</span>
      <input
        type="text"
        value={text}
        disabled={disabled}
        aria-label="Per-tensor rules"
        aria-invalid={error !== null}
        placeholder='{"density": [0.2, 0.8]}'
        onChange={(e) => {
          setText(e.target.value);
          try {
            const parsed = parseRules(e.target.value);
            const s = useStudioStore.getState();
            s.setSettings({ merger: { ...s.settings.merger, rules: parsed } });
            useStudioStore.setState({ recipeError: null });
          } catch (err) {
            useStudioStore.setState({ recipeError: (err as Error).message });
          }
        }}
      />
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

/** The merge method and the parameters it uses. */
export function MergerForm() {
  const method = useStudioStore((s) => s.settings.merger.method);
  const disabled = useStudioStore((s) => s.status === 'running');
  const usesTaskVectors = ['task_arithmetic', 'ties', 'dare_linear', 'dare_ties'].includes(method);
  return (
    <div className="settings">
      <label className="field">
        <span>Merger</span>
        <select
          value={method}
          disabled={disabled}
          aria-label="Merge method"
          onChange={(e) => {
            const s = useStudioStore.getState();
            s.setSettings({ merger: { ...s.settings.merger, method: e.target.value as MergeMethod } });
          }}
        >
          {(Object.keys(METHOD_INFO) as MergeMethod[]).map((m) => (
            <option key={m} value={m}>
              {METHOD_INFO[m].label}
              {METHOD_INFO[m].needsBase ? ' (needs base)' : ''}
              {METHOD_INFO[m].models ? ` (${METHOD_INFO[m].models} models)` : ''}
            </option>
          ))}
        </select>
      </label>
      {usesTaskVectors && <MergeField label="λ" field="lambda" min={0} max={3} step={0.05} hint="Scale of the merged task vector" />}
      {(method === 'ties' || method.startsWith('dare')) && (
        <MergeField label="Density" field="density" min={0.01} max={1} step={0.05} hint="Fraction of each task vector kept" />
      )}
      {method.startsWith('dare') && <MergeField label="DARE seed" field="seed" min={0} max={4294967295} step={1} hint="Seed of the random drop masks" />}
      {method === 'slerp' && <MergeField label="t" field="t" min={0} max={1} step={0.05} hint="0 = first model, 1 = second" />}
      {method === 'regmean' && (
        <MergeField label="α" field="alpha" min={0} max={1} step={0.05} hint="Off-diagonal shrink of the Gram matrices (1 = plain RegMean)" />
      )}
      <RulesField />
    </div>
  );
}

export function SettingsForm() {
  const mode = useStudioStore((s) => s.settings.mode);
  const disabled = useStudioStore((s) => s.status === 'running');
  return (
    <div className="settings">
      <NumberField label="F" field="f" min={0} max={2} step={0.05} hint="Mutation scale: v = x + F·(x_peer − x)" />
      <NumberField label="CR" field="cr" min={0} max={1} step={0.05} hint="Crossover rate: share of elements taken from the mutant" />
      <NumberField label="Generations" field="generations" min={1} max={200} step={1} hint="Each generation makes one offspring per checkpoint" />
      <NumberField label="Seed" field="seed" min={0} max={4294967295} step={1} hint="One seed reproduces the whole run" />
      <label className="field">
        <span>Selection</span>
        <select
          value={mode}
          disabled={disabled}
          aria-label="Selection mode"
          onChange={(e) => useStudioStore.getState().setSettings({ mode: e.target.value as SelectionMode })}
        >
          <option value="merged">with merger (selected above)</option>
          <option value="individual">without merger (each model alone)</option>
        </select>
      </label>
    </div>
  );
}
