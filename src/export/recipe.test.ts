import { describe, expect, it } from 'vitest';
import { looksLikeRecipe, parseRecipe, RecipeError } from './recipe';
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

  it('tells recipes from other JSON files', () => {
    expect(looksLikeRecipe({ ...DEFAULT_SETTINGS })).toBe(true);
    expect(looksLikeRecipe({ labels: ['a', 'b'] })).toBe(false);
    expect(looksLikeRecipe(null)).toBe(false);
  });
});
