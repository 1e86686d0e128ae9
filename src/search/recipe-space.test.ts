/**
 * The recipe space CMA-ES searches: which coefficients a method has, their bounds from its
 * declaration, the start's point, and points decoded into recipes (scalars with one layer
 * group, depth lists with several), rounded to what is merged.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MERGE } from '../protocol/settings';
import { recipeSpace, RecipeSpaceError } from './recipe-space';
import { pickFinal } from './pick-final';

const fit = (accuracy: number) => ({ task: 'sequence-classification', values: [accuracy, accuracy] });

describe('recipe space', () => {
  it('linear: one weight per model, equal weights in the middle of [0, 2]', () => {
    const space = recipeSpace({ ...DEFAULT_MERGE, method: 'linear' }, 3, 1);
    expect(space.coordinates.map((c) => [c.key, c.model, c.lower, c.upper])).toEqual([
      ['weight', 0, 0, 2],
      ['weight', 1, 0, 2],
      ['weight', 2, 0, 2],
    ]);
    expect(space.start).toEqual([0.5, 0.5, 0.5]);
    expect(space.decode([0.25, 0.123456, 1]).weights).toEqual([0.5, 0.2469, 2]);
  });

  it('TIES per layer group: weights, density and λ as depth lists, bounds from the method (λ narrowed)', () => {
    const space = recipeSpace({ ...DEFAULT_MERGE, method: 'ties', density: 0.5, densities: [0.1, 0.2] } as never, 2, 2);
    expect(space.coordinates).toHaveLength(8);
    const density = space.coordinates.find((c) => c.key === 'density')!;
    expect([density.lower, density.upper]).toEqual([0, 1]);
    const lambda = space.coordinates.find((c) => c.key === 'lambda')!;
    expect([lambda.lower, lambda.upper]).toEqual([0, 2]);
    const recipe = space.decode(space.start);
    expect(recipe.weightRules).toEqual([[1, 1], [1, 1]]);
    expect(recipe.rules).toEqual({ density: [0.5, 0.5], lambda: [1, 1] });
    expect(recipe.weights).toBeUndefined();
    expect((recipe as unknown as Record<string, unknown>).densities).toBeUndefined();
    // A start outside the search range widens it: the start stays reachable.
    const wide = recipeSpace({ ...DEFAULT_MERGE, method: 'task_arithmetic', lambda: 3 }, 2, 1);
    expect(wide.decode(wide.start).lambda).toBe(3);
  });

  it('SLERP searches t alone; a method with nothing to search is refused', () => {
    const slerp = recipeSpace({ ...DEFAULT_MERGE, method: 'slerp' }, 2, 3);
    expect(slerp.coordinates.map((c) => c.key)).toEqual(['t', 't', 't']);
    expect(slerp.decode([0, 0.5, 1]).rules).toEqual({ t: [0, 0.5, 1] });
    expect(() => recipeSpace({ ...DEFAULT_MERGE, method: 'karcher' }, 2, 1)).toThrow(RecipeSpaceError);
    expect(() => recipeSpace({ ...DEFAULT_MERGE, method: 'linear' }, 2, 0)).toThrow(/layer groups/);
  });
});

describe('the validation rule\'s final pick', () => {
  const base = { pick: 'validation' as const, fraction: 0.25, rows: 50, selectionRows: 150, startName: 'the starting merge' };
  it('exports the start when the search\'s result is below it on validation, and says so', () => {
    const out = pickFinal({ ...base, validation: [fit(0.9), fit(0.88)] });
    expect(out.index).toBe(0);
    expect(out.report).toMatchObject({ choice: 'start', resultBelowStart: true, start: 0.9, searchResult: 0.88, exported: 0.9 });
    expect(out.report.message).toMatch(/^Below the start: .*exporting the starting merge\.$/);
  });
  it('early stopping: the best earlier candidate; ties go to the earlier one', () => {
    const out = pickFinal({ ...base, validation: [fit(0.8), fit(0.85), fit(0.85), fit(0.82)], candidateName: (i) => `candidate #${i}` });
    expect(out.index).toBe(1);
    expect(out.report.choice).toBe('earlier-candidate');
    expect(out.report.message).toContain('candidate #1');
    expect(pickFinal({ ...base, validation: [fit(0.8), fit(0.8)] }).report.choice).toBe('start');
    expect(pickFinal({ ...base, validation: [fit(0.8), fit(0.81)] }).report).toMatchObject({ choice: 'search-result', resultBelowStart: false });
  });
  it('pick "search" exports the result even when it is worse, and still says it is', () => {
    const out = pickFinal({ ...base, pick: 'search', validation: [fit(0.9), fit(0.88)] });
    expect(out.index).toBe(1);
    expect(out.report.resultBelowStart).toBe(true);
    expect(out.report.message).toMatch(/as asked/);
  });
});
