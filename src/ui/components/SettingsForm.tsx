/** The recipe: merge method and its parameters, and the Evolver's F, CR, generations, seed and selection mode. */
import { useStudioStore } from '../../state/store';
import { MUTATION_LABELS, type EvolverSettings, type MutationStrategy, type SearchStrategy, type SelectionMode } from '../../protocol/settings';
import { useState } from 'react';
import { METHOD_INFO, parseRules } from '../../merge/params';
import { type MergeMethod, type MergeParams } from '../../protocol/settings';

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
  // A loaded recipe replaces the rules: remount the field so its text shows them.
  const recipeSource = useStudioStore((s) => s.recipeSource);
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
