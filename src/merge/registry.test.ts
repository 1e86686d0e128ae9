/**
 * The registry's declarations hold together: names are unique and aliases resolve, every
 * declared default lies in its range, shared keys agree with DEFAULT_MERGE, and what is
 * derived (problems, descriptions, method switches) follows the entries.
 */
import { describe, expect, it } from 'vitest';
import { allParamSpecs, findMethod, MERGE_METHODS, methodFor, methodNames, ruleParamKeys, withMethod } from './registry';
import { describeMerge, methodProblem, RULE_PARAMS } from './params';
import { paramValue } from './method';
import { DEFAULT_MERGE } from '../protocol/settings';

describe('merge-method registry', () => {
  it('resolves ids and aliases, one method per name', () => {
    expect(new Set(methodNames()).size).toBe(methodNames().length);
    expect(findMethod('average')?.id).toBe('linear');
    expect(findMethod('avg')?.id).toBe('linear');
    expect(findMethod('nope')).toBeUndefined();
    expect(() => methodFor('nope')).toThrow(/Unknown merge method "nope"/);
    expect(MERGE_METHODS.map((m) => m.id)).toEqual(expect.arrayContaining(['linear', 'ties', 'dare_ties', 'breadcrumbs', 'breadcrumbs_ties', 'regmean', 'fisher']));
  });

  it('declares defaults inside their ranges, and shared keys agree with DEFAULT_MERGE', () => {
    for (const m of MERGE_METHODS) {
      for (const p of m.params) {
        expect(p.default, `${m.id}.${p.key}`).toBeGreaterThanOrEqual(p.min);
        expect(p.default, `${m.id}.${p.key}`).toBeLessThanOrEqual(p.max);
      }
    }
    for (const spec of allParamSpecs()) expect(paramValue(DEFAULT_MERGE, spec), spec.key).toBe(spec.default);
    expect(DEFAULT_MERGE.method).toBe('linear');
    // gamma is declared but not per tensor: the rules keep their four keys.
    expect([...RULE_PARAMS].sort()).toEqual(['alpha', 'density', 'lambda', 't']);
    expect(ruleParamKeys()).not.toContain('gamma');
  });

  it('derives problems and descriptions from the entries', () => {
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'breadcrumbs' }, 3, false)).toMatch(/breadcrumbs needs a base/);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'slerp', weights: [1, 2] }, 2, false)).toMatch(/SLERP takes no per-model weights/);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'model_stock' }, 1, true)).toMatch(/at least 2/);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'breadcrumbs', gamma: 2 }, 3, true)).toMatch(/γ must be a number in \[0, 1\]/);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'average' }, 3, false)).toBeNull();
    expect(describeMerge({ ...DEFAULT_MERGE, method: 'average' })).toBe('simple average');
    expect(describeMerge({ ...DEFAULT_MERGE, method: 'ties' })).toBe('TIES (density 0.5, λ 1)');
    expect(describeMerge({ ...DEFAULT_MERGE, method: 'dare_linear', seed: 3 })).toBe('DARE (linear) (density 0.5, λ 1, seed 3)');
    const { gamma: _omitted, ...older } = DEFAULT_MERGE;
    expect(describeMerge({ ...older, method: 'breadcrumbs', density: 0.9 })).toBe('breadcrumbs (density 0.9, γ 0.01, λ 1)');
  });

  it('switching methods keeps shared values and gives the others the new defaults', () => {
    const ties = withMethod(DEFAULT_MERGE, 'ties');
    expect(ties).toMatchObject({ method: 'ties', density: 0.5, lambda: 1 });
    const tuned = { ...ties, density: 0.3 };
    expect(withMethod(tuned, 'dare_ties').density).toBe(0.3);
    expect(withMethod(DEFAULT_MERGE, 'breadcrumbs')).toMatchObject({ method: 'breadcrumbs', density: 0.9, gamma: 0.01 });
  });
});
