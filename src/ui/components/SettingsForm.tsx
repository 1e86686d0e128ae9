/** The Evolver recipe: F, CR, generations, seed and selection mode. */
import { useStudioStore } from '../../state/store';
import type { EvolverSettings, SelectionMode } from '../../engine/types';

interface NumberFieldProps {
  label: string;
  field: 'f' | 'cr' | 'generations' | 'seed';
  min: number;
  max: number;
  step: number;
  hint: string;
}

function NumberField({ label, field, min, max, step, hint }: NumberFieldProps) {
  const value = useStudioStore((s) => s.settings[field]);
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
          const patch: Partial<EvolverSettings> = { [field]: step >= 1 ? Math.round(clamped) : clamped };
          useStudioStore.getState().setSettings(patch);
        }}
      />
    </label>
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
          <option value="merged-average">with merger: simple average</option>
          <option value="individual">without merger (each model alone)</option>
        </select>
      </label>
    </div>
  );
}
