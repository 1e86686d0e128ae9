/**
 * Task ids, apart from the task entries so that low modules (the dataset encoder) can name the
 * default task without importing the registry that imports them.
 */
export const SEQUENCE_CLASSIFICATION = 'sequence-classification';

/** What rows are encoded for when the caller names no task: integer labels, one per row. */
export const DEFAULT_TASK_ID = SEQUENCE_CLASSIFICATION;
export const CAUSAL_LM = 'causal-lm';
export const MULTIPLE_CHOICE = 'multiple-choice';
export const TOKEN_CLASSIFICATION = 'token-classification';
export const REGRESSION = 'regression';
