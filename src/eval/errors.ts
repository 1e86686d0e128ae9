/**
 * Errors the eval room throws: a dev or held-out file that cannot be read, named by file (and line).
 */
export class DatasetError extends Error {
  readonly fileName: string;
  /** 1-based line of the offending row, when the problem is one row. */
  readonly line: number | undefined;
  constructor(fileName: string, message: string, line?: number) {
    super(message);
    this.name = 'DatasetError';
    this.fileName = fileName;
    this.line = line;
  }
}
