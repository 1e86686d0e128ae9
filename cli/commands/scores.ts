/** Score tables shared by the commands that evaluate. */
import type { ModelScores } from '../../src/protocol/results';

const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : (100 * v).toFixed(2));

/** Rows [model, dev acc, dev F1, held-out acc, held-out F1] with a header. */
export function scoreRows(models: readonly ModelScores[]): (string | number)[][] {
  return [['model', 'dev acc %', 'dev F1 %', 'held-out acc %', 'held-out F1 %'], ...models.map((m) => [m.name, pct(m.dev.accuracy), pct(m.dev.macroF1), pct(m.heldout?.accuracy), pct(m.heldout?.macroF1)])];
}
