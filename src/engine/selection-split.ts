/**
 * Which dev rows a search selects on: with a validation fraction, a seeded, stratified slice of
 * the dev split is held apart (the validation rule scores the result on it, never selects on
 * it); with a subset size, a fixed seeded, stratified subset of the remaining rows is selected
 * on. Reports re-score on the whole dev split either way.
 */
import type { DatasetEvaluator } from '../eval/evaluator';
import { splitDevHeldout } from '../eval/split';
import { subsetDataset } from '../eval/dataset';
import { NotReadyError } from '../protocol/errors';
import type { EvolverSettings } from '../protocol/settings';

/** Seed of the validation split, apart from the dev subset's (same seed, other rows). */
const VALIDATION_SEED_SALT = 0x7a11d;

/** The dev rows selection may use, and the validation slice held apart from them (none when settings.validation is 0). */
export function selectionSplit(dev: DatasetEvaluator, settings: EvolverSettings): { selection: DatasetEvaluator; validation: DatasetEvaluator | null } {
  const fraction = settings.validation ?? 0;
  if (fraction <= 0) return { selection: dev, validation: null };
  const rows = dev.dataset;
  const split = splitDevHeldout(rows.size, fraction, (settings.seed ^ VALIDATION_SEED_SALT) >>> 0, dev.task.strata(rows));
  if (split.heldout.length === 0 || split.dev.length === 0) {
    throw new NotReadyError(`A validation fraction of ${fraction} leaves ${split.heldout.length} validation and ${split.dev.length} selection rows of ${rows.size}: both need at least one.`);
  }
  const part = (indices: number[]) => dev.derive(subsetDataset(rows, indices));
  return { selection: part(split.dev), validation: part(split.heldout) };
}

/** A fixed, seeded, stratified subset of the selection rows. */
export function subsetEvaluator(selection: DatasetEvaluator, settings: EvolverSettings): DatasetEvaluator {
  const rows = selection.dataset;
  const split = splitDevHeldout(rows.size, settings.subset / rows.size, settings.seed >>> 0, selection.task.strata(rows));
  return selection.derive(subsetDataset(rows, split.heldout));
}
