/**
 * Parameter declarations and small helpers several methods share (the task-vector family
 * reads the same λ and density). Each method lists the ones it reads, in the order results
 * describe them; a method may override a field (its own default or range).
 */
import type { ParamSpec, TensorJob } from '../method';

export const LAMBDA: ParamSpec = {
  key: 'lambda',
  label: 'λ',
  help: 'Scale of the merged task vector (negative subtracts it)',
  type: 'number',
  min: -100,
  max: 100,
  step: 0.05,
  default: 1,
  perTensor: true,
};

export const DENSITY: ParamSpec = {
  key: 'density',
  label: 'Density',
  short: 'density',
  help: 'Fraction of each task vector kept',
  type: 'number',
  min: 0,
  max: 1,
  step: 0.05,
  default: 0.5,
  perTensor: true,
};

export const SEED: ParamSpec = {
  key: 'seed',
  label: 'DARE seed',
  short: 'seed',
  help: 'Seed of the random drop masks',
  type: 'seed',
  min: 0,
  max: 4294967295,
  step: 1,
  default: 0,
};

/** The base tensor of a method that declares needs.base (the merger checks it is there). */
export function baseOf(job: Pick<TensorJob, 'base'>, label: string): Float32Array {
  if (!job.base) throw new Error(`${label} needs a base checkpoint.`);
  return job.base;
}

/** A GPU merger with nothing of its own to free. */
export const NOTHING_TO_FREE = (): void => {};
