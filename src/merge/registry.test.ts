/**
 * The registry's declarations hold together: names are unique and aliases resolve, every
 * declared default lies in its range, shared keys agree with DEFAULT_MERGE, and what is
 * derived (problems, descriptions, method switches) follows the entries.
 */
import { describe, expect, it } from 'vitest';
import { allParamSpecs, findMethod, gpuPlan, MERGE_METHODS, methodFor, methodNames, ruleParamKeys, withMethod } from './registry';
import { describeMerge, methodProblem, RULE_PARAMS } from './params';
import { paramValue } from './method';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';

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
    for (const m of MERGE_METHODS) for (const p of m.params) if (p.key === 'density') expect(p.default, `${m.id}.density (mergekit's default)`).toBe(1);
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
    expect(describeMerge({ ...DEFAULT_MERGE, method: 'ties', density: 0.5 })).toBe('TIES (density 0.5, λ 1)');
    expect(describeMerge({ ...DEFAULT_MERGE, method: 'dare_linear', density: 0.5, seed: 3 })).toBe('DARE (linear) (density 0.5, λ 1, seed 3)');
    const { gamma: _omitted, ...older } = DEFAULT_MERGE;
    expect(describeMerge({ ...older, method: 'breadcrumbs', density: 0.9 })).toBe('breadcrumbs (density 0.9, γ 0.01, λ 1)');
  });

  it('switching methods keeps shared values and gives the others the new defaults', () => {
    const ties = withMethod(DEFAULT_MERGE, 'ties');
    expect(ties).toMatchObject({ method: 'ties', density: 1, lambda: 1 });
    const tuned = { ...ties, density: 0.3 };
    expect(withMethod(tuned, 'dare_ties').density).toBe(0.3);
    expect(withMethod(DEFAULT_MERGE, 'breadcrumbs')).toMatchObject({ method: 'breadcrumbs', density: 1, gamma: 0.01 });
  });

  it('declares mergekit’s switches and choices, checks them, and sends CPU-only settings to the CPU', () => {
    const dare = { ...DEFAULT_MERGE, method: 'dare_ties' };
    expect(findMethod('ties')!.options!.map((o) => o.key)).toEqual(['normalize', 'consensus_method', 'int8_mask']);
    expect(methodProblem({ ...dare, consensus_method: 'count' } as MergeParams, 3, true)).toBeNull();
    expect(methodProblem({ ...dare, consensus_method: 'most' } as MergeParams, 3, true)).toMatch(/consensus_method must be one of sum, count/);
    expect(methodProblem({ ...dare, normalize: 'yes' } as unknown as MergeParams, 3, true)).toMatch(/normalize must be true or false/);
    expect(methodProblem({ ...dare, densities: [0.5, 1] } as unknown as MergeParams, 3, true)).toMatch(/2 densities for 3 models/);
    expect(methodProblem({ ...DEFAULT_MERGE, method: 'slerp', densities: [0.5, 1] } as unknown as MergeParams, 2, false)).toMatch(/no per-model densities/);
    expect(describeMerge({ ...dare, density: 1, normalize: true } as MergeParams)).toBe('DARE (TIES) (density 1, λ 1, seed 0, normalize true)');
    // The L1-norm rescale (mergekit's default) and the count vote run on the GPU too; L∞ and filter-wise model stock stay on the CPU.
    expect(gpuPlan(dare, null, { slots: [], totalSize: 0 })).not.toBeNull();
    expect(gpuPlan({ ...dare, rescale_norm: 'linf' } as MergeParams, null, { slots: [], totalSize: 0 })).toBeNull();
    expect(gpuPlan({ ...DEFAULT_MERGE, method: 'ties', consensus_method: 'count' } as MergeParams, null, { slots: [], totalSize: 0 })).not.toBeNull();
    expect(gpuPlan({ ...DEFAULT_MERGE, method: 'model_stock', filter_wise: true } as MergeParams, null, { slots: [], totalSize: 0 })).toBeNull();
    expect(findMethod('task_arithmetic')!.needs.minModels).toBe(1);
  });
});
