/** The form's building blocks: a clamped number input and a select bound to one settings field, each with its help. */
import { useStudioStore } from '../../state/store';
import type { EvolverSettings } from '../../protocol/settings';
import { InfoTip, type GuideTopic } from './InfoTip';

export interface NumberInputProps {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  hint: string;
  /** The guide section the help links to. */
  topic?: GuideTopic;
  /** Receives the value clamped to [min, max], rounded when step ≥ 1. */
  onValue(value: number): void;
}

/** A labelled number input that only reports finite, clamped values. */
export function NumberInput({ label, value, min, max, step, hint, topic, onValue }: NumberInputProps) {
  const disabled = useStudioStore((s) => s.status === 'running');
  return (
    <label className="field">
      <FieldLabel label={label} help={hint} topic={topic} />
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

/** The settings fields that hold a number, and those that hold one of a few strings. */
/** A field's label with its "i" (InfoTip) when it has help. */
export function FieldLabel({ label, help, topic }: { label: string; help?: string; topic?: GuideTopic }) {
  return (
    <span className="field-label">
      {label}
      {help && <InfoTip label={label} help={help} topic={topic} />}
    </span>
  );
}

export type NumericSetting = { [K in keyof EvolverSettings]-?: EvolverSettings[K] extends number ? K : never }[keyof EvolverSettings];
export type ChoiceSetting = { [K in keyof EvolverSettings]-?: EvolverSettings[K] extends string ? K : never }[keyof EvolverSettings];

export type FieldProps<K extends string> = Omit<NumberInputProps, 'value' | 'onValue'> & { field: K };

/** Help for the selects that the form gives none. */
const SELECT_HELP: Partial<Record<keyof EvolverSettings, string>> = {
  strategy: 'How candidates are made: the Evolver evolves every weight; Top-k merges the most related models; CMA-ES searches the merge recipe itself',
  mutation: 'How a mutant is built for each target: toward one peer (the paper), or the classic DE/rand/1 and DE/best/1',
  mode: 'With merger: each offspring is scored in the population merged by the merger above; without: each model is scored alone',
};

/** The guide section each search setting's help links to; the others link to the search strategies. */
const SETTING_TOPICS: Partial<Record<keyof EvolverSettings, GuideTopic>> = {
  mutation: 'evolver',
  adaptive: 'evolver',
  f: 'evolver',
  cr: 'evolver',
  generations: 'evolver',
  mode: 'evolver',
  seed: 'selection',
  budget: 'selection',
  patience: 'selection',
  subset: 'selection',
};

const topicOf = (field: keyof EvolverSettings): GuideTopic => SETTING_TOPICS[field] ?? 'strategies';

export function NumberField({ field, ...rest }: FieldProps<NumericSetting>) {
  const value = useStudioStore((s) => s.settings[field]);
  return <NumberInput topic={topicOf(field)} {...rest} value={value} onValue={(v) => useStudioStore.getState().setSettings({ [field]: v } as Partial<EvolverSettings>)} />;
}

/** A labelled select bound to one settings field. */
export function SelectField<K extends ChoiceSetting>({ label, field, options, hint }: { label: string; field: K; options: Record<EvolverSettings[K] & string, string>; hint?: string }) {
  const value = useStudioStore((s) => s.settings[field]);
  const disabled = useStudioStore((s) => s.status === 'running');
  return (
    <label className="field">
      <FieldLabel label={label} help={hint ?? SELECT_HELP[field]} topic={topicOf(field)} />
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
