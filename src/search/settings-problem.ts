/**
 * Checks a search's settings before it starts (numbers come from the UI, a recipe file or the
 * CLI): each problem is said in words, naming the setting.
 */
import { findMethod } from '../merge/registry';
import { recipeSpace } from './recipe-space';
import type { EvolverSettings } from '../protocol/settings';

/** Why these search settings cannot run, or null (numbers come from the UI, a recipe file or the CLI). */
export function settingsProblem(settings: EvolverSettings): string | null {
  const { f, cr, generations, budget, patience, subset, topK } = settings;
  if (!(f > 0 && f <= 2)) return `F must be in (0, 2], got ${f}.`;
  if (!(cr >= 0 && cr <= 1)) return `CR must be in [0, 1], got ${cr}.`;
  for (const [name, value] of Object.entries({ generations, budget, patience, subset, 'top-k': topK })) {
    if (!Number.isInteger(value) || value < 0) return `${name} must be a whole number ≥ 0, got ${value}.`;
  }
  const { layerGroups = 1, validation = 0, pick = 'validation' } = settings;
  if (!Number.isInteger(layerGroups) || layerGroups < 1 || layerGroups > 64) return `layer groups must be a whole number in [1, 64], got ${layerGroups}.`;
  if (!(validation >= 0 && validation < 1)) return `the validation fraction must be in [0, 1), got ${validation}.`;
  if (pick !== 'validation' && pick !== 'search') return `the final pick must be 'validation' or 'search', got ${JSON.stringify(pick)}.`;
  if (settings.strategy === 'cma_es') {
    try {
      recipeSpace(settings.merger, 2, layerGroups);
    } catch (err) {
      return `CMA-ES: ${(err as Error).message}`;
    }
  }
  if (settings.strategy === 'kinship_topk') {
    if (topK < 1) return 'Top-k merging keeps at least one model (k ≥ 1).';
    if (settings.merger.weights) return 'Top-k merging merges pairs: per-model weights do not apply.';
    const merger = findMethod(settings.merger.method);
    if (merger?.needs.devData) {
      return `Top-k merging merges merged models again; ${merger.label} needs statistics of the loaded checkpoints only. Choose SLERP, average or a task-vector merger.`;
    }
  }
  return null;
}
