/**
 * A worker's copy of the coordinator's run. Its engine runs the same search on the same files,
 * and every evaluation it asks for waits here: one the coordinator has already made takes the
 * coordinator's scores (so the copy accepts and rejects exactly as the coordinator did, and
 * rebuilds the same candidates: no weights travel), and the one a job is about runs the job's
 * batches on the candidate it has built. Jobs come in evaluation order, several per evaluation.
 */
import type { EvaluationCall, EvaluationRoute } from '../../src/eval/evaluator';
import type { Scores } from '../../src/protocol/results';

interface Pending {
  index: number;
  call: EvaluationCall;
  runBatches: (from: number, to: number) => Promise<Float32Array[]>;
  resolve(scores: Scores): void;
  reject(err: Error): void;
}

/** The job is for an evaluation this copy has passed: start a new copy (followers are cheap to replay). */
export class FollowerPassedError extends Error {
  constructor(readonly at: number, readonly asked: number) {
    super(`this worker's copy of the run is at evaluation ${at + 1}, past the job's evaluation ${asked + 1}`);
    this.name = 'FollowerPassedError';
  }
}

export class RunFollower implements EvaluationRoute {
  private position = 0;
  private pending: Pending | null = null;
  private waiter: { resolve(p: Pending): void; reject(err: Error): void } | null = null;
  private ended: Error | null = null;

  /** answers(from, to): the coordinator's scores of evaluations [from, to). */
  constructor(private readonly answers: (from: number, to: number) => Promise<Scores[]>) {}

  evaluate(call: EvaluationCall, runBatches: Pending['runBatches']): Promise<Scores> {
    const index = this.position++;
    return new Promise<Scores>((resolve, reject) => {
      this.pending = { index, call, runBatches, resolve, reject };
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(this.pending);
      }
    });
  }

  /** The run ended (or failed) without asking for more evaluations. */
  end(reason: Error): void {
    this.ended = reason;
    this.waiter?.reject(reason);
    this.waiter = null;
  }

  /** Stops the copy: its engine's run fails with `reason`. */
  dispose(reason: Error): void {
    this.pending?.reject(reason);
    this.pending = null;
    this.end(reason);
  }

  private next(): Promise<Pending> {
    if (this.pending) return Promise.resolve(this.pending);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /**
   * Brings the copy to evaluation `index` (answering the ones before it with the coordinator's
   * scores) and runs batches [from, to) there. One job at a time per follower.
   */
  async serve(index: number, call: EvaluationCall, from: number, to: number): Promise<Float32Array[]> {
    let answered: Scores[] = [];
    let answeredFrom = 0;
    for (;;) {
      const pending = await this.next();
      if (pending.index > index) throw new FollowerPassedError(pending.index, index);
      if (pending.index === index) {
        if (pending.call.rows !== call.rows || pending.call.batches !== call.batches || pending.call.batchRows !== call.batchRows) {
          throw new Error(`this worker's copy of the run is out of step: its evaluation ${index + 1} is of ${pending.call.rows} rows in ${pending.call.batches} batches, the job's of ${call.rows} rows in ${call.batches}`);
        }
        return pending.runBatches(from, to);
      }
      if (pending.index - answeredFrom >= answered.length) {
        answeredFrom = pending.index;
        answered = await this.answers(pending.index, index);
        if (answered.length === 0) throw new Error(`the coordinator has no scores for evaluation ${pending.index + 1}`);
      }
      this.pending = null;
      pending.resolve(answered[pending.index - answeredFrom]!);
    }
  }
}
