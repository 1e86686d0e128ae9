import { describe, expect, it } from 'vitest';
import { looksLikeRecipe, parseRecipe, recipeMergekitYaml, RecipeError } from './recipe';
import { DEFAULT_SETTINGS } from '../protocol/settings';

describe('parseRecipe', () => {
  it('reads what the studio and the CLI write, defaults what is missing', () => {
    const recipe = parseRecipe({ ...DEFAULT_SETTINGS, mutation: 'best1', seed: 9, merger: { method: 'ties', density: 0.3 }, base: 'base.onnx', sources: ['a.onnx', 'b.onnx'] }, 'r.json');
    expect(recipe.settings).toMatchObject({ mutation: 'best1', seed: 9, merger: { method: 'ties', density: 0.3, lambda: 1 } });
    expect(recipe.base).toBe('base.onnx');
    expect(recipe.sources).toEqual(['a.onnx', 'b.onnx']);
    expect(parseRecipe({ seed: 1 }, 'min.json').settings).toEqual({ ...DEFAULT_SETTINGS, seed: 1 });
  });

  it('stores aliases under the method id, and reads parameters newer methods declare', () => {
    expect(parseRecipe({ merger: { method: 'average' } }, 'r.json').settings.merger.method).toBe('linear');
    expect(parseRecipe({ merger: { method: 'breadcrumbs', gamma: 0.02 } }, 'r.json').settings.merger).toMatchObject({ method: 'breadcrumbs', gamma: 0.02 });
    // A recipe from before gamma existed gets its default.
    expect(parseRecipe({ merger: { method: 'breadcrumbs_ties' } }, 'r.json').settings.merger.gamma).toBe(0.01);
    expect(() => parseRecipe({ merger: { method: 'breadcrumbs', gamma: 'x' } }, 'r.json')).toThrow(/merger "gamma"/);
  });

  it('rejects bad fields by name, and one-shot merge recipes', () => {
    const bad: [unknown, RegExp][] = [
      [[1, 2], /a JSON object/],
      [{ strategy: 'merge' }, /one-shot merge/],
      [{ strategy: 'genetic' }, /"strategy" has an invalid value "genetic"/],
      [{ f: 'big' }, /"f" has an invalid value/],
      [{ merger: { method: 'nope' } }, /unknown merge method "nope"/],
      [{ merger: { method: 'ties', density: null } }, /merger "density"/],
      [{ merger: { method: 'average', weights: [1, 'a'] } }, /weights/],
      [{ merger: { method: 'ties', rules: { gamma: 1 } } }, /Unknown rule parameter "gamma"/],
    ];
    for (const [json, message] of bad) {
      expect(() => parseRecipe(json, 'bad.json')).toThrow(RecipeError);
      expect(() => parseRecipe(json, 'bad.json')).toThrow(message);
    }
  });

  it('reads CMA-ES runs: layer groups, the validation rule and per-model weight rules; older recipes get the defaults', () => {
    const recipe = parseRecipe({ strategy: 'cma_es', layerGroups: 3, validation: 0.2, pick: 'search', merger: { method: 'linear', weightRules: [[1, 0.5], 1, [{ filter: 'head', value: 2 }, { value: 1 }]] } }, 'r.json');
    expect(recipe.settings).toMatchObject({ strategy: 'cma_es', layerGroups: 3, validation: 0.2, pick: 'search' });
    expect(recipe.settings.merger.weightRules).toHaveLength(3);
    expect(parseRecipe({ seed: 1 }, 'old.json').settings).toMatchObject({ layerGroups: 1, validation: 0, pick: 'validation' });
    const bad: [unknown, RegExp][] = [
      [{ layerGroups: 0 }, /"layerGroups" has an invalid value 0/],
      [{ layerGroups: 1.5 }, /"layerGroups"/],
      [{ validation: 1 }, /"validation" has an invalid value 1/],
      [{ pick: 'best' }, /"pick" has an invalid value "best"/],
      [{ merger: { method: 'linear', weightRules: [1, 'x'] } }, /weightRules\[1\]/],
    ];
    for (const [json, message] of bad) expect(() => parseRecipe(json, 'r.json')).toThrow(message);
  });

  it("writes the recipe CMA-ES found as mergekit YAML, per-model weight gradients included", () => {
    const found = { method: 'ties', density: 0.5, lambda: 1, weightRules: [[0.2, 0.8], [1, 1]], rules: { density: [0.3, 0.7] } };
    const yaml = recipeMergekitYaml({ strategy: 'cma_es', merger: { method: 'ties' }, resultMerger: found, base: 'base', sources: ['a', 'b'] }, 'run.recipe.json');
    expect(yaml.fileName).toBe('run.mergekit.yml');
    expect(yaml.problems).toEqual([]);
    expect(yaml.text).toContain('weight: [0.2, 0.8]');
    expect(yaml.text).toContain('density: [0.3, 0.7]');
    const without = recipeMergekitYaml({ strategy: 'cma_es', merger: { method: 'ties' }, base: 'base', sources: ['a', 'b'] }, 'run.recipe.json');
    expect(without.problems[0]).toMatch(/lacks the recipe CMA-ES found/);
  });

  it('tells recipes from other JSON files', () => {
    expect(looksLikeRecipe({ ...DEFAULT_SETTINGS })).toBe(true);
    expect(looksLikeRecipe({ labels: ['a', 'b'] })).toBe(false);
    expect(looksLikeRecipe(null)).toBe(false);
  });
});
