/** The search: strategy, its own parameters, and the budget, stop and dev-subset options they share. */
import { useStudioStore } from '../../state/store';
import { MUTATION_LABELS, type FinalPick, type MutationStrategy, type SearchStrategy, type SelectionMode } from '../../protocol/settings';
import { FieldLabel, NumberField, SelectField } from './fields';

const STRATEGIES: Record<SearchStrategy, string> = {
  evolver: 'Evolver (differential evolution)',
  kinship_topk: 'Top-k merging with model kinship',
  cma_es: 'CMA-ES over the merge recipe',
};
const PICKS: Record<FinalPick, string> = {
  validation: 'best on validation (early stopping)',
  search: "the search's result",
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
  const cma = strategy === 'cma_es';
  const evolver = !topK && !cma;
  const validation = useStudioStore((s) => s.settings.validation ?? 0);
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
        {evolver && <SelectField label="Mutation" field="mutation" options={MUTATION_LABELS as Record<MutationStrategy, string>} />}
        {evolver && (
          <label className="field checkbox">
            <FieldLabel
              label="Self-adaptive F, CR (jDE)"
              help="jDE: every individual carries its own F and CR, resampled with probability 0.1 and kept when the trial wins"
              topic="evolver"
            />
            <input
              type="checkbox"
              checked={adaptive}
              disabled={disabled}
              aria-label="Self-adaptive F and CR (jDE)"
              onChange={(e) => useStudioStore.getState().setSettings({ adaptive: e.target.checked })}
            />
          </label>
        )}
        {evolver && <NumberField label="F" field="f" min={0.01} max={2} step={0.05} hint="Mutation scale (the starting value under jDE)" />}
        {evolver && <NumberField label="CR" field="cr" min={0} max={1} step={0.05} hint="Crossover rate: share of elements taken from the mutant" />}
        {topK && <NumberField label="k" field="topK" min={1} max={32} step={1} hint="How many models the top set keeps" />}
        {cma && (
          <NumberField
            label="Layer groups"
            field="layerGroups"
            min={1}
            max={64}
            step={1}
            hint="Values each coefficient (every model's weight, and the merger's density, λ or t) takes over the network's depth: 1 = one value for all layers"
          />
        )}
        <NumberField
          label={topK ? 'Rounds' : 'Generations'}
          field="generations"
          min={1}
          max={200}
          step={1}
          hint={
            topK
              ? 'Most rounds of merging; it stops earlier when the top-k set stops changing'
              : cma
                ? 'Each generation merges and scores one population of recipes (4 + 3 ln n of them for n coefficients)'
                : 'Each generation makes one offspring per checkpoint'
          }
        />
        {evolver && <SelectField label="Selection mode" field="mode" options={MODES} />}
      </div>
      <div className="settings">
        <NumberField label="Seed" field="seed" min={0} max={4294967295} step={1} hint="One seed reproduces the whole run" />
        <NumberField label="Evaluation budget" field="budget" min={0} max={100000} step={1} hint="Most dev evaluations, the starting ones included (0 = no limit)" />
        <NumberField label="Patience" field="patience" min={0} max={200} step={1} hint={`Stop after this many ${topK ? 'rounds' : 'generations'} without a better score (0 = never)`} />
        <NumberField label="Dev subset rows" field="subset" min={0} max={1000000} step={1} hint="Select on a fixed seeded subset of the dev split (0 = all); the result is re-scored on all of it" />
        <NumberField
          label="Validation fraction"
          field="validation"
          min={0}
          max={0.9}
          step={0.05}
          hint="Hold this share of the dev rows apart from selection (seeded, stratified): charted per generation, and the final model is the best on it of the start and the search's candidates (0 = none)"
        />
        {validation > 0 && <SelectField label="Export" field="pick" options={PICKS} />}
      </div>
    </>
  );
}
