/**
 * Checks a search's settings before it starts (numbers come from the UI, a recipe file or the
 * CLI): each problem is said in words, naming the setting.
 */
import { findMethod } from '../merge/registry';
import type { EvolverSettings } from '../protocol/settings';

/** Why these search settings cannot run, or null (numbers come from the UI, a recipe file or the CLI). */
export function settingsProblem(settings: EvolverSettings): string | null {
  const { f, cr, generations, budget, patience, subset, topK } = settings;
  if (!(f > 0 && f <= 2)) return `F must be in (0, 2], got ${f}.`;
  if (!(cr >= 0 && cr <= 1)) return `CR must be in [0, 1], got ${cr}.`;
  for (const [name, value] of Object.entries({ generations, budget, patience, subset, 'top-k': topK })) {
    if (!Number.isInteger(value) || value < 0) return `${name} must be a whole number ≥ 0, got ${value}.`;
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
