/**
 * The validation rule's final pick (early stopping): of the search's starting point and the
 * candidates it accepted (in order: the start first, the search's result last), the model
 * exported is the best on the validation slice, ties going to the earlier one; or, with pick
 * 'search', the search's result whatever validation says. Either way the report says, in plain
 * words, when the search's result is below its starting point on validation. Pure module.
 */
import { formatMetric, taskPrimaryMetric } from '../eval/tasks/metric-format';
import { primaryValue } from '../eval/tasks/registry';
import type { Fitness, ValidationReport } from '../protocol/results';
import type { FinalPick } from '../protocol/settings';
import { isBetter } from './evolver';

export interface PickInput {
  /** Validation fitness of the start, the accepted candidates, and the search's result (last). */
  validation: readonly Fitness[];
  pick: FinalPick;
  fraction: number;
  rows: number;
  selectionRows: number;
  /** What the start is called in the message ("the starting merge", "the best checkpoint"). */
  startName: string;
  /** How an earlier candidate is named in the message (e.g. "the best recipe of generation 3"). */
  candidateName?(index: number): string;
}

export interface PickOutcome {
  /** Index into `validation` of the model to export. */
  index: number;
  report: ValidationReport;
}

export function pickFinal(input: PickInput): PickOutcome {
  const { validation, pick } = input;
  if (validation.length === 0) throw new Error('pickFinal needs the start at least.');
  const last = validation.length - 1;
  let index = 0;
  if (pick === 'search') index = last;
  else for (let i = 1; i < validation.length; i++) if (isBetter(validation[i]!, validation[index]!)) index = i;
  const metric = taskPrimaryMetric(validation[0]!.task);
  const show = (f: Fitness) => formatMetric(metric, primaryValue(f), 2);
  const start = validation[0]!;
  const result = validation[last]!;
  const resultBelowStart = isBetter(start, result);
  const choice: ValidationReport['choice'] = index === 0 && last > 0 ? 'start' : index === last ? 'search-result' : 'earlier-candidate';
  const scores = `the search's result scores ${show(result)} on validation, ${input.startName} ${show(start)}`;
  let message: string;
  if (last === 0) message = `The search accepted nothing: exporting ${input.startName} (${show(start)} on validation).`;
  else if (choice === 'start') message = resultBelowStart ? `Below the start: ${scores}. The search fitted its selection rows; exporting ${input.startName}.` : `No gain on validation: ${scores}; exporting ${input.startName}.`;
  else if (choice === 'earlier-candidate') message = `Early stopping: ${scores}; ${input.candidateName?.(index) ?? `accepted candidate ${index}`} scores best (${show(validation[index]!)}) and is exported.`;
  else message = resultBelowStart ? `Below the start: ${scores}; exporting the search's result as asked (pick: search).` : `${scores.charAt(0).toUpperCase()}${scores.slice(1)}: exporting the search's result.`;
  return {
    index,
    report: {
      fraction: input.fraction,
      rows: input.rows,
      selectionRows: input.selectionRows,
      start: primaryValue(start),
      searchResult: primaryValue(result),
      exported: primaryValue(validation[index]!),
      resultBelowStart,
      choice,
      message,
    },
  };
}
