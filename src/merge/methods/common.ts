/**
 * Parameter declarations and small helpers several methods share (the task-vector family
 * reads the same λ and density). Each method lists the ones it reads, in the order results
 * describe them; a method may override a field (its own default or range).
 */
import { optionValue, type OptionSpec, type ParamSpec, type TensorJob } from '../method';
import type { MergeParams } from '../../protocol/settings';

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
  default: 1,
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

/** mergekit's `normalize`: divide the (agreeing) weighted sum by the (agreeing) weights. */
export const normalizeOption = (fallback: boolean): Extract<OptionSpec, { type: 'boolean' }> => ({
  key: 'normalize',
  label: 'Normalize',
  help: 'Divide the weighted sum by the sum of the weights (of the agreeing models under a sign consensus)',
  type: 'boolean',
  default: fallback,
});

/** mergekit's `int8_mask`: accepted for configs' sake; it only saves memory there. */
export const INT8_MASK: OptionSpec = { key: 'int8_mask', label: 'int8 mask', help: 'Accepted for mergekit configs; it only saves memory there, and changes nothing here', type: 'boolean', default: false };

/** mergekit's `consensus_method` of the TIES family. */
export const CONSENSUS: Extract<OptionSpec, { type: 'choice' }> = {
  key: 'consensus_method',
  label: 'Sign consensus',
  help: 'sum: the sign of Σ w_i τ_i (TIES); count: the sign most models have',
  type: 'choice',
  choices: ['sum', 'count'],
  default: 'sum',
};

/** The normalize switch's value for a job. */
export const normalizeOf = (params: MergeParams, spec: Extract<OptionSpec, { type: 'boolean' }>): boolean => optionValue(params, spec);

/**
 * Per-model densities (mergekit's per-model `density`), stored as `densities` beside the
 * scalar; the scalar (with its per-tensor rules) when absent or of the wrong length.
 */
export function densitiesOf(params: MergeParams, modelCount: number, scalar: number): number | number[] {
  const list = (params as unknown as Record<string, unknown>).densities;
  return Array.isArray(list) && list.length === modelCount && list.every((d) => typeof d === 'number') ? (list as number[]) : scalar;
}
