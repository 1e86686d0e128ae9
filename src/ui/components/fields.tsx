/** The form's building blocks: a clamped number input and a select bound to one settings field, each with its help. */
import { useStudioStore } from '../../state/store';
import type { EvolverSettings } from '../../protocol/settings';

export interface NumberInputProps {
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
export function NumberInput({ label, value, min, max, step, hint, onValue }: NumberInputProps) {
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

/** The settings fields that hold a number, and those that hold one of a few strings. */
export type NumericSetting = { [K in keyof EvolverSettings]-?: EvolverSettings[K] extends number ? K : never }[keyof EvolverSettings];
export type ChoiceSetting = { [K in keyof EvolverSettings]-?: EvolverSettings[K] extends string ? K : never }[keyof EvolverSettings];

export type FieldProps<K extends string> = Omit<NumberInputProps, 'value' | 'onValue'> & { field: K };

export function NumberField({ field, ...rest }: FieldProps<NumericSetting>) {
  const value = useStudioStore((s) => s.settings[field]);
  return <NumberInput {...rest} value={value} onValue={(v) => useStudioStore.getState().setSettings({ [field]: v } as Partial<EvolverSettings>)} />;
}

/** A labelled select bound to one settings field. */
export function SelectField<K extends ChoiceSetting>({ label, field, options }: { label: string; field: K; options: Record<EvolverSettings[K] & string, string> }) {
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
