/** The merge method (the registry's list), the parameters and options it declares, and per-tensor rules. */
import { useStudioStore } from '../../state/store';
import { useState } from 'react';
import { parseRules } from '../../merge/params';
import { optionValue, paramValue, type OptionSpec, type ParamSpec } from '../../merge/method';
import { findMethod, MERGE_METHODS, withMethod } from '../../merge/registry';
import { type MergeParams } from '../../protocol/settings';
import { FieldLabel, NumberInput } from './fields';

/** One declared parameter of the selected merge method, with the declaration's range and help. */
function MergeField({ spec }: { spec: ParamSpec }) {
  const value = useStudioStore((s) => paramValue(s.settings.merger, spec));
  const setMerger = (v: number) => {
    const s = useStudioStore.getState();
    s.setSettings({ merger: { ...s.settings.merger, [spec.key]: v } as MergeParams });
  };
  return <NumberInput label={spec.label} min={spec.min} max={spec.max} step={spec.step} hint={spec.help} topic="mergers" value={value} onValue={setMerger} />;
}

/** One declared switch (a checkbox) or choice (a select) of the selected merge method. */
function MergeOptionField({ spec }: { spec: OptionSpec }) {
  const value = useStudioStore((s) => optionValue(s.settings.merger, spec));
  const disabled = useStudioStore((s) => s.status === 'running');
  const setOption = (v: boolean | string) => {
    const s = useStudioStore.getState();
    s.setSettings({ merger: { ...s.settings.merger, [spec.key]: v } as MergeParams });
  };
  if (spec.type === 'boolean') {
    return (
      <label className="field">
        <FieldLabel label={spec.label} help={spec.help} topic="mergers" />
        <input type="checkbox" checked={value as boolean} disabled={disabled} aria-label={spec.label} onChange={(e) => setOption(e.target.checked)} />
      </label>
    );
  }
  return (
    <label className="field">
      <FieldLabel label={spec.label} help={spec.help} topic="mergers" />
      <select value={value as string} disabled={disabled} aria-label={spec.label} onChange={(e) => setOption(e.target.value)}>
        {spec.choices.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Per-tensor rules as JSON: depth lists and name filters (mergekit style). */
function RulesField() {
  const disabled = useStudioStore((s) => s.status === 'running');
  const rules = useStudioStore((s) => s.settings.merger.rules);
  const [text, setText] = useState(rules ? JSON.stringify(rules) : '');
  const error = useStudioStore((s) => s.recipeError);
  return (
    <label className="field rules">
      <FieldLabel
        label="Per-tensor rules (JSON)"
        help='Parameters that vary by depth or tensor name, as mergekit writes them: e.g. {"density": [0.2, 0.8], "lambda": [{"filter": "head", "value": 0.5}, {"value": 1}]}'
        topic="mergers"
      />
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

/** The option text of a method: its label and what it needs. */
function methodOption(id: string): string {
  const m = findMethod(id)!;
  return `${m.label}${m.needs.base ? ' (needs base)' : ''}${m.needs.models ? ` (${m.needs.models} models)` : ''}${m.needs.devData ? ' (needs dev data)' : ''}`;
}

/** The merge method (the registry's list) and the parameters it declares. */
export function MergerForm() {
  const stored = useStudioStore((s) => s.settings.merger.method);
  // A stored alias ('average') shows as its method.
  const method = findMethod(stored);
  // A loaded recipe replaces the rules: remount the field so its text shows them.
  const recipeSource = useStudioStore((s) => s.recipeSource);
  const disabled = useStudioStore((s) => s.status === 'running');
  return (
    <div className="settings">
      <label className="field">
        <FieldLabel label="Merger" help="How the checkpoints are combined into one model: once (Merge once), or to score each offspring in the population (the Evolver with merger)" topic="mergers" />
        <select
          value={method?.id ?? stored}
          disabled={disabled}
          aria-label="Merge method"
          onChange={(e) => {
            const s = useStudioStore.getState();
            s.setSettings({ merger: withMethod(s.settings.merger, e.target.value) });
          }}
        >
          {MERGE_METHODS.map((m) => (
            <option key={m.id} value={m.id}>
              {methodOption(m.id)}
            </option>
          ))}
        </select>
      </label>
      {method?.params.map((spec) => <MergeField key={spec.key} spec={spec} />)}
      {method?.options?.filter((o) => o.key !== 'int8_mask').map((spec) => <MergeOptionField key={spec.key} spec={spec} />)}
      <RulesField key={recipeSource ?? ''} />
    </div>
  );
}
