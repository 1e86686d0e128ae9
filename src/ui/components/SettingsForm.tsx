/** The recipe: merge method and its parameters, and the Evolver's F, CR, generations, seed and selection mode. */
import { useStudioStore } from '../../state/store';
import { MUTATION_LABELS, type EvolverSettings, type MutationStrategy, type SearchStrategy, type SelectionMode } from '../../protocol/settings';
import { useState } from 'react';
import { parseRules } from '../../merge/params';
import { optionValue, paramValue, type OptionSpec, type ParamSpec } from '../../merge/method';
import { findMethod, MERGE_METHODS, withMethod } from '../../merge/registry';
import { type MergeParams } from '../../protocol/settings';

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

function NumberField({ field, ...rest }: FieldProps<'f' | 'cr' | 'generations' | 'seed' | 'budget' | 'patience' | 'subset' | 'topK'>) {
  const value = useStudioStore((s) => s.settings[field]);
  return <NumberInput {...rest} value={value} onValue={(v) => useStudioStore.getState().setSettings({ [field]: v } as Partial<EvolverSettings>)} />;
}

/** One declared parameter of the selected merge method, with the declaration's range and help. */
function MergeField({ spec }: { spec: ParamSpec }) {
  const value = useStudioStore((s) => paramValue(s.settings.merger, spec));
  const setMerger = (v: number) => {
    const s = useStudioStore.getState();
    s.setSettings({ merger: { ...s.settings.merger, [spec.key]: v } as MergeParams });
  };
  return <NumberInput label={spec.label} min={spec.min} max={spec.max} step={spec.step} hint={spec.help} value={value} onValue={setMerger} />;
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
      <label className="field" title={spec.help}>
        <span>{spec.label}</span>
        <input type="checkbox" checked={value as boolean} disabled={disabled} aria-label={spec.label} onChange={(e) => setOption(e.target.checked)} />
      </label>
    );
  }
  return (
    <label className="field" title={spec.help}>
      <span>{spec.label}</span>
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
        <span>Merger</span>
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

/** A labelled select bound to one settings field. */
function SelectField<K extends 'strategy' | 'mutation' | 'mode'>({ label, field, options }: { label: string; field: K; options: Record<EvolverSettings[K] & string, string> }) {
  const value = useStudioStore((s) => s.settings[field]);
  const disabled = useStudioStore((s) => s.status === 'running');
  return (
    <label className="field">
      <span>{label}</span>
      <select
        value={value as string}
        disabled={disabled}
        aria-label={label}
        onChange={(e) => useStudioStore.getState().setSettings({ [field]: e.target.value } as Partial<EvolverSettings>)}
      >
        {(Object.keys(options) as (keyof typeof options)[]).map((key) => (
          <option key={key} value={key}>
            {options[key]}
          </option>
        ))}
      </select>
    </label>
  );
}

const STRATEGIES: Record<SearchStrategy, string> = {
  evolver: 'Evolver (differential evolution)',
  kinship_topk: 'Top-k merging with model kinship',
};
const MODES: Record<SelectionMode, string> = {
  merged: 'with merger (selected above)',
  individual: 'without merger (each model alone)',
};

/** The search: strategy, its own parameters, and the budget, stop and dev-subset options both share. */
export function SettingsForm() {
  const strategy = useStudioStore((s) => s.settings.strategy);
  const adaptive = useStudioStore((s) => s.settings.adaptive);
  const disabled = useStudioStore((s) => s.status === 'running');
  const topK = strategy === 'kinship_topk';
  const recipeSource = useStudioStore((s) => s.recipeSource);
  return (
    <>
      {recipeSource && (
        <p className="muted" data-testid="recipe-source">
          Settings from the recipe {recipeSource}; editing any field leaves it.
        </p>
      )}
      <div className="settings">
        <SelectField label="Strategy" field="strategy" options={STRATEGIES} />
        {!topK && <SelectField label="Mutation" field="mutation" options={MUTATION_LABELS as Record<MutationStrategy, string>} />}
        {!topK && (
          <label className="field checkbox" title="jDE: every individual carries its own F and CR, resampled with probability 0.1 and kept when the trial wins">
            <span>Self-adaptive F, CR (jDE)</span>
            <input
              type="checkbox"
              checked={adaptive}
              disabled={disabled}
              aria-label="Self-adaptive F and CR (jDE)"
              onChange={(e) => useStudioStore.getState().setSettings({ adaptive: e.target.checked })}
            />
          </label>
        )}
        {!topK && <NumberField label="F" field="f" min={0.01} max={2} step={0.05} hint="Mutation scale (the starting value under jDE)" />}
        {!topK && <NumberField label="CR" field="cr" min={0} max={1} step={0.05} hint="Crossover rate: share of elements taken from the mutant" />}
        {topK && <NumberField label="k" field="topK" min={1} max={32} step={1} hint="How many models the top set keeps" />}
        <NumberField
          label={topK ? 'Rounds' : 'Generations'}
          field="generations"
          min={1}
          max={200}
          step={1}
          hint={topK ? 'Most rounds of merging; it stops earlier when the top-k set stops changing' : 'Each generation makes one offspring per checkpoint'}
        />
        {!topK && <SelectField label="Selection mode" field="mode" options={MODES} />}
      </div>
      <div className="settings">
        <NumberField label="Seed" field="seed" min={0} max={4294967295} step={1} hint="One seed reproduces the whole run" />
        <NumberField label="Evaluation budget" field="budget" min={0} max={100000} step={1} hint="Most dev evaluations, the starting ones included (0 = no limit)" />
        <NumberField label="Patience" field="patience" min={0} max={200} step={1} hint={`Stop after this many ${topK ? 'rounds' : 'generations'} without a better score (0 = never)`} />
        <NumberField label="Dev subset rows" field="subset" min={0} max={1000000} step={1} hint="Select on a fixed seeded subset of the dev split (0 = all); the result is re-scored on all of it" />
      </div>
    </>
  );
}
