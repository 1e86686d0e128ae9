/** Test-only: runs fn, which must throw a DatasetError, and returns it for the message and line checks. */
import { expect } from 'vitest';
import type { DatasetError } from '../eval/dataset';

export function catchDatasetError(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    expect((e as Error).name).toBe('DatasetError');
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}
