/**
 * The run journal: every selection score of a search, in order. A search is a pure
 * function of its settings, the checkpoints and these scores (every random draw comes
 * from the seed's counter-based streams), so replaying the journal's scores instead of
 * evaluating rebuilds the population exactly where the run stood: the DE steps, merges
 * and accept decisions re-run, evaluations do not. A tab closed or a worker lost mid-run
 * so loses at most the evaluation in flight, and the journal is a few bytes per offspring:
 * no weights are stored or read back to keep it.
 * Entries stored before tasks existed hold {accuracy, macroF1}: they are read as the
 * sequence-classification fitness they were (readJournalEntry), so those runs still resume.
 * Pure module.
 */
import type { Fitness } from '../protocol/results';
import type { WeightSetId } from '../protocol/results';
import { type JournalEntry } from '../protocol/results';
import { readStoredFitness } from '../eval/tasks/registry';

export class JournalMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalMismatchError';
  }
}

/** A stored entry in the current shape (an older fitness mapped to it), or null when it is not one. */
export function readJournalEntry(value: unknown): JournalEntry | null {
  if (typeof value !== 'object' || value === null) return null;
  const { set, fitness, split } = value as { set?: unknown; fitness?: unknown; split?: unknown };
  if (typeof set !== 'number' && set !== 'candidate' && set !== 'merged') return null;
  if (split !== undefined && split !== 'validation') return null;
  const read = readStoredFitness(fitness);
  return read ? { set, fitness: read, ...(split ? { split } : {}) } : null;
}

/**
 * Wraps a scorer: the first scores come from the recorded entries (replay), later ones are
 * evaluated and reported to `record` as they happen.
 */
export class ScoreJournal {
  private position = 0;

  constructor(
    private readonly recorded: readonly JournalEntry[],
    private readonly record: (entry: JournalEntry, index: number) => void,
  ) {}

  /** Scores replayed so far (all of them once replay is over). */
  get replayed(): number {
    return Math.min(this.position, this.recorded.length);
  }

  get replaying(): boolean {
    return this.position < this.recorded.length;
  }

  /** split: 'validation' for a score of the validation slice (journalled too, so a resumed run re-evaluates none). */
  async score(set: WeightSetId, evaluate: () => Promise<Fitness>, split?: 'validation'): Promise<Fitness> {
    const index = this.position++;
    const stored = this.recorded[index];
    if (stored) {
      if (stored.set !== set || stored.split !== split) {
        const what = (s: WeightSetId, v: 'validation' | undefined) => `${String(s)}${v ? ' on validation' : ''}`;
        throw new JournalMismatchError(`The stored run does not match these settings and files: its score ${index + 1} was of ${what(stored.set, stored.split)}, this run asks for ${what(set, split)}.`);
      }
      const fitness = readStoredFitness(stored.fitness);
      if (!fitness) throw new JournalMismatchError(`The stored run's score ${index + 1} is not a score this version can read.`);
      return fitness;
    }
    const fitness = await evaluate();
    this.record(split ? { set, fitness, split } : { set, fitness }, index);
    return fitness;
  }
}
